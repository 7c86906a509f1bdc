"""The `json` suite: extraction (text -> JSON) and formatting (data -> JSON)
tasks, each with a JSON Schema (checked separately for validity) and
expected field values (checked for accuracy).  Expected values are every
scalar leaf of the reference object except the ones a task marks as free
text.  Original content written for tinylm, English and Chinese."""
import json

EN_TAIL = "Reply with only a JSON value that matches this JSON Schema:\n```json\n{schema}\n```"
ZH_TAIL = "只输出一个符合下面 JSON Schema 的 JSON 值，不要输出其他内容：\n```json\n{schema}\n```"

def obj(props, required=None, extra=False):
    return {"type": "object", "properties": props, "required": required or list(props),
            "additionalProperties": extra}


STR = {"type": "string"}
INT = {"type": "integer"}
NUM = {"type": "number"}
BOOL = {"type": "boolean"}


def arr(items, **kw):
    d = {"type": "array", "items": items}
    d.update(kw)
    return d


def enum(*vals):
    return {"type": "string", "enum": list(vals)}


FILE_NODE = {"type": "object", "properties": {"name": STR, "size": INT}, "required": ["name", "size"],
             "additionalProperties": False}
DIR_NODE = {"type": "object", "properties": {"name": STR, "children": {"type": "array"}},
            "required": ["name", "children"], "additionalProperties": False}
DIR_SCHEMA = {"type": "object", "properties": {"name": {"const": "."}, "children": arr({"anyOf": [FILE_NODE, DIR_NODE]})},
              "required": ["name", "children"], "additionalProperties": False}
ISO_DATE = {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}

# (language, kind, instruction + text, schema, reference value, free-text pointers)
TASKS = [
("en", "extract", "Extract the order details from this message.\n\nText: \"Hi, this is Dana Whitfield. I'd like to order 3 boxes of green tea at $4.50 each, delivered to Leeds. Please use express shipping.\"",
 obj({"customer": STR, "item": STR, "quantity": INT, "unit_price": NUM, "city": STR, "express": BOOL}),
 {"customer": "Dana Whitfield", "item": "green tea", "quantity": 3, "unit_price": 4.5, "city": "Leeds", "express": True}, []),
("zh", "extract", "从下面的文字中提取会议信息。\n\n文字：“各位好，产品评审会定在 2024 年 5 月 14 日下午 3 点，在 301 会议室举行，预计 90 分钟，请张伟、李娜和王强参加。”",
 obj({"title": STR, "date": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}, "time": {"type": "string", "pattern": "^\\d{2}:\\d{2}$"}, "room": STR, "duration_minutes": INT, "attendees": arr(STR)}),
 {"title": "产品评审会", "date": "2024-05-14", "time": "15:00", "room": "301", "duration_minutes": 90, "attendees": ["张伟", "李娜", "王强"]}, ["/title", "/room"]),
("en", "extract", "Extract the facts about the city from this paragraph.\n\nText: \"Porto is the second-largest city in Portugal, with about 232,000 inhabitants in the city proper. It lies on the Douro river and is famous for port wine.\"",
 obj({"city": STR, "country": STR, "population": INT, "river": STR, "known_for": STR}),
 {"city": "Porto", "country": "Portugal", "population": 232000, "river": "Douro", "known_for": "port wine"}, ["/known_for"]),
("en", "format", "Convert this CSV to a JSON array of objects, using the header row as keys and numbers for the numeric columns.\n\n```\nname,age,score\nAna,31,88.5\nBo,25,92\nCy,40,79.25\n```",
 arr(obj({"name": STR, "age": INT, "score": NUM}), minItems=3, maxItems=3),
 [{"name": "Ana", "age": 31, "score": 88.5}, {"name": "Bo", "age": 25, "score": 92}, {"name": "Cy", "age": 40, "score": 79.25}], []),
("zh", "extract", "从下面的商品描述中提取结构化信息。\n\n文字：“这款 UltraBook 14 笔记本电脑重 1.3 千克，配备 16GB 内存和 512GB 固态硬盘，售价 6999 元，现在有货。”",
 obj({"product": STR, "weight_kg": NUM, "ram_gb": INT, "storage_gb": INT, "price_cny": INT, "in_stock": BOOL}),
 {"product": "UltraBook 14", "weight_kg": 1.3, "ram_gb": 16, "storage_gb": 512, "price_cny": 6999, "in_stock": True}, []),
("en", "extract", "Classify the sentiment of each review and extract its star rating.\n\nReviews:\n1. \"Absolutely loved it, five stars!\"\n2. \"It broke after two days. One star.\"\n3. \"Does the job, nothing special: three stars.\"",
 arr(obj({"id": INT, "sentiment": enum("positive", "negative", "neutral"), "stars": {"type": "integer", "minimum": 1, "maximum": 5}}), minItems=3, maxItems=3),
 [{"id": 1, "sentiment": "positive", "stars": 5}, {"id": 2, "sentiment": "negative", "stars": 1}, {"id": 3, "sentiment": "neutral", "stars": 3}], []),
("en", "format", "Turn these key=value lines into a JSON object. Values that are whole numbers become integers, 'true'/'false' become booleans, everything else stays a string.\n\n```\nhost=db.internal\nport=5432\nssl=true\nuser=report_reader\ntimeout=30\n```",
 obj({"host": STR, "port": INT, "ssl": BOOL, "user": STR, "timeout": INT}),
 {"host": "db.internal", "port": 5432, "ssl": True, "user": "report_reader", "timeout": 30}, []),
("zh", "format", "把下面的表格转换成 JSON 数组，每一行是一个对象，键名使用 city、temp_c、rain。\n\n| 城市 | 气温(°C) | 是否下雨 |\n|---|---|---|\n| 北京 | 21 | 否 |\n| 上海 | 25 | 是 |\n| 广州 | 29 | 是 |",
 arr(obj({"city": STR, "temp_c": NUM, "rain": BOOL}), minItems=3, maxItems=3),
 [{"city": "北京", "temp_c": 21, "rain": False}, {"city": "上海", "temp_c": 25, "rain": True}, {"city": "广州", "temp_c": 29, "rain": True}], []),
("en", "extract", "Extract the flight booking from this email.\n\nText: \"Your booking is confirmed: flight LH 2027 from Munich (MUC) to Lisbon (LIS) on 2024-09-03, departing 07:40. Passengers: 2 adults. Booking reference QX7P2M.\"",
 obj({"flight": STR, "from": {"type": "string", "pattern": "^[A-Z]{3}$"}, "to": {"type": "string", "pattern": "^[A-Z]{3}$"}, "date": STR, "departure": STR, "passengers": INT, "reference": STR}),
 {"flight": "LH 2027", "from": "MUC", "to": "LIS", "date": "2024-09-03", "departure": "07:40", "passengers": 2, "reference": "QX7P2M"}, ["/flight"]),
("en", "extract", "List every person mentioned with their role.\n\nText: \"The project is led by Priya Nair. Tom Okafor writes the backend, and Mei Lin handles design.\"",
 arr(obj({"name": STR, "role": STR}), minItems=3, maxItems=3),
 [{"name": "Priya Nair", "role": "project lead"}, {"name": "Tom Okafor", "role": "backend"}, {"name": "Mei Lin", "role": "design"}], ["/0/role", "/1/role", "/2/role"]),
("zh", "extract", "从下面的快递信息中提取字段。\n\n文字：“您的包裹（运单号 SF1234567890）已于 6 月 2 日从杭州发出，预计 6 月 4 日送达成都，重量 2.5 千克，运费 18 元，到付。”",
 obj({"tracking_number": STR, "from_city": STR, "to_city": STR, "weight_kg": NUM, "fee_cny": NUM, "cash_on_delivery": BOOL}),
 {"tracking_number": "SF1234567890", "from_city": "杭州", "to_city": "成都", "weight_kg": 2.5, "fee_cny": 18, "cash_on_delivery": True}, []),
("en", "format", "Convert these lines into a JSON object that maps each country to its capital.\n\n```\nFrance: Paris\nJapan: Tokyo\nKenya: Nairobi\nPeru: Lima\n```",
 {"type": "object", "additionalProperties": STR},
 {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi", "Peru": "Lima"}, []),
("en", "extract", "Extract the recipe.\n\nText: \"For pancakes, mix 200 g flour, 2 eggs and 300 ml milk. Rest the batter 10 minutes, then fry. Serves 4.\"",
 obj({"dish": STR, "ingredients": arr(obj({"name": STR, "amount": NUM, "unit": enum("g", "ml", "piece")}), minItems=3, maxItems=3), "rest_minutes": INT, "servings": INT}),
 {"dish": "pancakes", "ingredients": [{"name": "flour", "amount": 200, "unit": "g"}, {"name": "eggs", "amount": 2, "unit": "piece"}, {"name": "milk", "amount": 300, "unit": "ml"}], "rest_minutes": 10, "servings": 4}, ["/ingredients/1/name"]),
("zh", "extract", "判断下面这条用户反馈的类别和紧急程度，并提取涉及的订单号。\n\n反馈：“我昨天下的订单 A20240611 到现在还没发货，页面一直显示处理中，请尽快帮我处理！”",
 obj({"category": enum("shipping", "payment", "refund", "account", "other"), "urgency": enum("low", "medium", "high"), "order_id": STR}),
 {"category": "shipping", "urgency": "high", "order_id": "A20240611"}, []),
("en", "format", "Convert the date in each sentence to ISO 8601 (YYYY-MM-DD) and return them as a JSON array of strings, in order.\n\n1. The shop opened on March 5, 2021.\n2. The lease ends 31 December 2025.\n3. We met on 2019/07/04.",
 arr({"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}$"}, minItems=3, maxItems=3),
 ["2021-03-05", "2025-12-31", "2019-07-04"], []),
("en", "extract", "Extract the invoice totals.\n\nText: \"Invoice 0042 — Consulting: 12 hours at $95/hour. Travel: $180. VAT 20% applies to the consulting part only.\"",
 obj({"invoice": STR, "consulting": NUM, "travel": NUM, "vat": NUM, "total": NUM}),
 {"invoice": "0042", "consulting": 1140, "travel": 180, "vat": 228, "total": 1548}, []),
("zh", "format", "把下面的学生成绩整理成 JSON：按科目给出平均分（保留一位小数）。\n\n小王：语文 88，数学 95\n小李：语文 92，数学 81\n小赵：语文 79，数学 90",
 obj({"chinese_avg": NUM, "math_avg": NUM}),
 {"chinese_avg": 86.3, "math_avg": 88.7}, []),
("en", "extract", "Extract the job posting fields (dates as YYYY-MM-DD).\n\nText: \"We're hiring a Senior Data Engineer in Berlin (hybrid, 3 days in office). Salary €75,000–€90,000. Requires Python, SQL and Airflow. Apply by 30 June 2024.\"",
 obj({"title": STR, "city": STR, "remote_policy": enum("onsite", "hybrid", "remote"), "salary_min": INT, "salary_max": INT, "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}, "skills": arr(STR, minItems=3), "deadline": ISO_DATE}),
 {"title": "Senior Data Engineer", "city": "Berlin", "remote_policy": "hybrid", "salary_min": 75000, "salary_max": 90000, "currency": "EUR", "skills": ["Python", "SQL", "Airflow"], "deadline": "2024-06-30"}, []),
("en", "format", "Represent this directory listing as nested JSON: each directory is an object with \"name\" and \"children\", each file an object with \"name\" and \"size\" (bytes).\n\n```\nsrc/\n  main.c (1200)\n  util/\n    str.c (800)\nREADME (300)\n```\nWrap everything in a root directory named \".\".",
 DIR_SCHEMA,
 {"name": ".", "children": [{"name": "src", "children": [{"name": "main.c", "size": 1200}, {"name": "util", "children": [{"name": "str.c", "size": 800}]}]}, {"name": "README", "size": 300}]}, []),
("zh", "extract", "从病历摘要中提取生命体征。\n\n文字：“患者男，56 岁，体温 38.2℃，心率 96 次/分，血压 135/85 mmHg，无过敏史。”",
 obj({"sex": enum("male", "female"), "age": INT, "temperature_c": NUM, "heart_rate": INT, "blood_pressure": obj({"systolic": INT, "diastolic": INT}), "allergies": BOOL}),
 {"sex": "male", "age": 56, "temperature_c": 38.2, "heart_rate": 96, "blood_pressure": {"systolic": 135, "diastolic": 85}, "allergies": False}, []),
("en", "extract", "Extract the bank transfer (dates as YYYY-MM-DD).\n\nText: \"Please send 1,250.75 GBP from account ending 4471 to Harbour Tools Ltd, IBAN GB33BUKB20201555555555, reference INV-5581, on 12 August 2024.\"",
 obj({"amount": NUM, "currency": STR, "from_account_last4": {"type": "string", "pattern": "^\\d{4}$"}, "payee": STR, "iban": STR, "reference": STR, "date": ISO_DATE}),
 {"amount": 1250.75, "currency": "GBP", "from_account_last4": "4471", "payee": "Harbour Tools Ltd", "iban": "GB33BUKB20201555555555", "reference": "INV-5581", "date": "2024-08-12"}, []),
("en", "format", "Group these log lines by level and count them. Return an object mapping each level to its count.\n\n```\n[INFO] started\n[WARN] disk 85%\n[INFO] request /a\n[ERROR] timeout\n[INFO] request /b\n[WARN] disk 91%\n```",
 obj({"INFO": INT, "WARN": INT, "ERROR": INT}),
 {"INFO": 3, "WARN": 2, "ERROR": 1}, []),
("zh", "extract", "从下面的租房信息中提取字段。\n\n文字：“出租：朝阳区两室一厅，面积 78 平方米，月租 6500 元，押一付三，可养宠物，地铁 10 号线步行 5 分钟。”",
 obj({"district": STR, "bedrooms": INT, "area_sqm": NUM, "rent_cny": INT, "deposit_months": INT, "pay_months": INT, "pets_allowed": BOOL, "walk_minutes_to_subway": INT}),
 {"district": "朝阳区", "bedrooms": 2, "area_sqm": 78, "rent_cny": 6500, "deposit_months": 1, "pay_months": 3, "pets_allowed": True, "walk_minutes_to_subway": 5}, []),
("en", "extract", "Extract the sports result.\n\nText: \"In Saturday's final, the Harbor City Hawks beat the Lakeside Rovers 3-1. Maya Ortiz scored twice and was named player of the match.\"",
 obj({"winner": STR, "loser": STR, "winner_score": INT, "loser_score": INT, "player_of_match": STR}),
 {"winner": "Harbor City Hawks", "loser": "Lakeside Rovers", "winner_score": 3, "loser_score": 1, "player_of_match": "Maya Ortiz"}, []),
("en", "format", "Convert the measurements to metric and return them as JSON, rounded to one decimal place.\n\nheight: 6 ft (1 ft = 0.3048 m)\nweight: 150 lb (1 lb = 0.4536 kg)\ndistance: 10 miles (1 mile = 1.609 km)",
 obj({"height_m": NUM, "weight_kg": NUM, "distance_km": NUM}),
 {"height_m": 1.8, "weight_kg": 68.0, "distance_km": 16.1}, []),
("zh", "format", "把下面的通讯录整理成 JSON 数组，每个联系人包含 name、phone（只保留数字）和 city。\n\n1) 陈晨，电话 138-0013-8000，住在南京\n2) 刘洋，电话 (021) 6123 4567，住在上海",
 arr(obj({"name": STR, "phone": {"type": "string", "pattern": "^\\d+$"}, "city": STR}), minItems=2, maxItems=2),
 [{"name": "陈晨", "phone": "13800138000", "city": "南京"}, {"name": "刘洋", "phone": "02161234567", "city": "上海"}], []),
("en", "extract", "Extract the event and decide whether tickets are still available.\n\nText: \"Jazz in the Park returns on 2024-07-20 at Riverside Park. Gates open at 17:30. The early-bird tickets ($25) are sold out; regular tickets cost $35.\"",
 obj({"event": STR, "date": STR, "venue": STR, "gates_open": STR, "ticket_price": NUM, "early_bird_available": BOOL}),
 {"event": "Jazz in the Park", "date": "2024-07-20", "venue": "Riverside Park", "gates_open": "17:30", "ticket_price": 35, "early_bird_available": False}, []),
("en", "format", "Convert this nested list into a JSON object where each category maps to an array of its items.\n\n- Fruit: apple, pear\n- Vegetables: carrot, leek, kale\n- Grains: rice",
 obj({"Fruit": arr(STR), "Vegetables": arr(STR), "Grains": arr(STR)}),
 {"Fruit": ["apple", "pear"], "Vegetables": ["carrot", "leek", "kale"], "Grains": ["rice"]}, []),
("zh", "extract", "从下面的天气预报中提取未来三天的数据。\n\n文字：“明天（周一）晴，12 到 24 度；周二多云，14 到 22 度；周三小雨，11 到 17 度。”",
 arr(obj({"day": enum("Monday", "Tuesday", "Wednesday"), "weather": enum("sunny", "cloudy", "rain"), "low_c": INT, "high_c": INT}), minItems=3, maxItems=3),
 [{"day": "Monday", "weather": "sunny", "low_c": 12, "high_c": 24}, {"day": "Tuesday", "weather": "cloudy", "low_c": 14, "high_c": 22}, {"day": "Wednesday", "weather": "rain", "low_c": 11, "high_c": 17}], []),
("en", "extract", "Extract the software release notes.\n\nText: \"Version 2.4.0 (released 2024-04-02) adds dark mode and CSV export, and fixes 3 bugs. It drops support for Windows 7.\"",
 obj({"version": {"type": "string", "pattern": "^\\d+\\.\\d+\\.\\d+$"}, "release_date": STR, "features": arr(STR, minItems=2, maxItems=2), "bugs_fixed": INT, "breaking_change": BOOL}),
 {"version": "2.4.0", "release_date": "2024-04-02", "features": ["dark mode", "CSV export"], "bugs_fixed": 3, "breaking_change": True}, []),
]


def leaves(v, ptr=""):
    if isinstance(v, dict):
        for k, x in v.items():
            yield from leaves(x, f"{ptr}/{k.replace('~', '~0').replace('/', '~1')}")
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from leaves(x, f"{ptr}/{i}")
    else:
        yield ptr, v


def build():
    tasks = []
    for i, (lang, kind, text, schema, ref, free) in enumerate(TASKS, 1):
        tail = (ZH_TAIL if lang == "zh" else EN_TAIL).format(schema=json.dumps(schema, ensure_ascii=False))
        expected = {p: v for p, v in leaves(ref) if p not in free}
        body = json.dumps(ref, ensure_ascii=False, indent=2 if i % 2 else None)
        reference = f"```json\n{body}\n```" if i % 3 else body
        tasks.append({
            "id": f"json/{i:03d}", "kind": kind, "language": lang,
            "prompt": text + "\n\n" + tail, "grader": "json", "schema": schema,
            "expected": expected, "reference": reference,
        })
    return tasks
