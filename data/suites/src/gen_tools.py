"""The `tools` suite: function-calling tasks.  Each offers a few tools in
the OpenAI format (some of them distractors) and expects either one call
with given arguments or, when no tool fits, no call at all.  An expected
argument written {"$any": [...]} accepts any of the listed values (a
Chinese city may be passed in Chinese or in pinyin/English).  Original
content written for tinylm."""
import json


def tool(name, description, props, required):
    return {"type": "function", "function": {
        "name": name, "description": description,
        "parameters": {"type": "object", "properties": props, "required": required,
                       "additionalProperties": False}}}


S = {"type": "string"}
I = {"type": "integer"}
N = {"type": "number"}
DATE = {"type": "string", "description": "date as YYYY-MM-DD"}

WEATHER = tool("get_weather", "Current weather for a city.",
               {"city": S, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, ["city"])
CURRENCY = tool("convert_currency", "Convert an amount between currencies (ISO 4217 codes).",
                {"amount": N, "from_currency": S, "to_currency": S}, ["amount", "from_currency", "to_currency"])
FLIGHTS = tool("search_flights", "Search flights between two cities on a date.",
               {"origin": S, "destination": S, "date": DATE, "passengers": I}, ["origin", "destination", "date"])
EMAIL = tool("send_email", "Send an email.", {"to": S, "subject": S, "body": S}, ["to", "subject", "body"])
EVENT = tool("create_event", "Create a calendar event.",
             {"title": S, "date": DATE, "start_time": {"type": "string", "description": "HH:MM, 24-hour"},
              "duration_minutes": I}, ["title", "date", "start_time"])
TIMER = tool("set_timer", "Start a countdown timer.", {"minutes": I, "label": S}, ["minutes"])
STOCK = tool("get_stock_price", "Latest price of a stock by ticker symbol.", {"symbol": S}, ["symbol"])
ORDER = tool("lookup_order", "Look up the status of an order by its id.", {"order_id": S}, ["order_id"])
RESTAURANTS = tool("find_restaurants", "Find restaurants in a city.",
                   {"city": S, "cuisine": S, "max_price_level": {"type": "integer", "minimum": 1, "maximum": 4}},
                   ["city"])
TRANSLATE = tool("translate", "Translate text into a target language (ISO 639-1 code).",
                 {"text": S, "target_language": S}, ["text", "target_language"])

SYS_EN = "You are a helpful assistant. Call a tool only when it is needed to answer; otherwise answer directly."
SYS_ZH = "你是一个乐于助人的助手。只有在需要时才调用工具，否则直接回答。"

ANY = lambda *v: {"$any": list(v)}  # noqa: E731

# (language, tools, user message, expected call (name, arguments) or None, reference text for no-call)
TASKS = [
("en", [WEATHER, STOCK], "What's the weather like in Osaka right now?", ("get_weather", {"city": "Osaka"}), None),
("en", [WEATHER, CURRENCY], "How much is 250 US dollars in euros?", ("convert_currency", {"amount": 250, "from_currency": "USD", "to_currency": "EUR"}), None),
("zh", [WEATHER, TIMER], "帮我查一下成都现在的天气，用摄氏度。", ("get_weather", {"city": ANY("成都", "Chengdu"), "unit": "celsius"}), None),
("en", [FLIGHTS, EVENT, EMAIL], "Find flights from Madrid to Oslo on 2024-11-08 for 2 passengers.", ("search_flights", {"origin": "Madrid", "destination": "Oslo", "date": "2024-11-08", "passengers": 2}), None),
("en", [EMAIL, EVENT], "Email sam@example.com with the subject 'Lunch' and say: 'Are you free at noon tomorrow?'", ("send_email", {"to": "sam@example.com", "subject": "Lunch", "body": "Are you free at noon tomorrow?"}), None),
("zh", [EVENT, TIMER, EMAIL], "在 2024-10-15 下午两点创建一个叫“季度复盘”的日程，时长 45 分钟。", ("create_event", {"title": "季度复盘", "date": "2024-10-15", "start_time": "14:00", "duration_minutes": 45}), None),
("en", [TIMER, WEATHER], "Set a 12 minute timer for the pasta.", ("set_timer", {"minutes": 12}), None),
("en", [STOCK, CURRENCY], "What's Nvidia trading at? The ticker is NVDA.", ("get_stock_price", {"symbol": "NVDA"}), None),
("zh", [ORDER, EMAIL], "我的订单 B7781204 现在到哪了？", ("lookup_order", {"order_id": "B7781204"}), None),
("en", [RESTAURANTS, WEATHER], "Find me a cheap Thai restaurant in Lisbon, price level at most 2.", ("find_restaurants", {"city": "Lisbon", "cuisine": "Thai", "max_price_level": 2}), None),
("en", [TRANSLATE, EMAIL], "Translate 'Where is the train station?' into German.", ("translate", {"text": "Where is the train station?", "target_language": "de"}), None),
("zh", [CURRENCY, STOCK], "1000 人民币能换多少日元？", ("convert_currency", {"amount": 1000, "from_currency": "CNY", "to_currency": "JPY"}), None),
("en", [WEATHER, FLIGHTS], "Is it colder in Reykjavik today? Tell me the temperature there in fahrenheit.", ("get_weather", {"city": "Reykjavik", "unit": "fahrenheit"}), None),
("en", [EVENT, TIMER], "Put 'Dentist' in my calendar on 2025-01-09 at 08:30.", ("create_event", {"title": "Dentist", "date": "2025-01-09", "start_time": "08:30"}), None),
("zh", [TIMER, ORDER], "设一个 25 分钟的计时器，标签写“番茄钟”。", ("set_timer", {"minutes": 25, "label": "番茄钟"}), None),
("en", [ORDER, STOCK, EMAIL], "Can you check order ZX-00931 for me?", ("lookup_order", {"order_id": "ZX-00931"}), None),
("zh", [FLIGHTS, WEATHER], "查一下 2024-12-20 从上海飞往东京的航班，一个人。", ("search_flights", {"origin": ANY("上海", "Shanghai"), "destination": ANY("东京", "Tokyo"), "date": "2024-12-20", "passengers": 1}), None),
("en", [WEATHER, STOCK], "Tell me a short joke about cats.", None, "Why did the cat sit on the computer? To keep an eye on the mouse!"),
("en", [CURRENCY, TIMER], "What is the capital of Australia?", None, "The capital of Australia is Canberra."),
("zh", [WEATHER, ORDER], "谢谢你的帮助，今天就到这里吧！", None, "不客气，很高兴能帮到你，祝你今天愉快！"),
("en", [STOCK, FLIGHTS], "How many days are there in a leap year?", None, "A leap year has 366 days."),
("zh", [EMAIL, EVENT], "用一句话解释什么是递归。", None, "递归是指一个函数在执行过程中直接或间接地调用自身来解决规模更小的同类问题。"),
]


def build():
    tasks = []
    for i, (lang, tools, msg, call, text) in enumerate(TASKS, 1):
        if call:
            name, args = call
            concrete = {k: (v["$any"][0] if isinstance(v, dict) else v) for k, v in args.items()}
            body = json.dumps({"name": name, "arguments": concrete}, ensure_ascii=False)
            ref = f"<tool_call>\n{body}\n</tool_call>"
            expected = {"name": name, "arguments": args}
        else:
            ref, expected = text, None
        tasks.append({
            "id": f"tools/{i:03d}", "kind": "call" if call else "no_call", "language": lang,
            "system": SYS_ZH if lang == "zh" else SYS_EN, "prompt": msg, "grader": "tool_call",
            "tools": tools, "expected": expected, "reference": ref,
        })
    return tasks
