"""The `basics` suite: the five kinds of everyday programming task that
reviews of small models compare (write a function, fix a bug from an error
message, explain an algorithm, turn data into JSON, write a multi-step data
script), eight variants of each, half in Chinese.  Functions and fixes are
graded by hidden tests, explanations by a rubric of required points plus
answering in the prompt's language, JSON by schema and expected values, data
scripts by running them on a fixture CSV and checking the file they write.
Original content written for tinylm."""
import csv
import io
import json

from common import fence


def tests(*asserts):
    return "def check(candidate):\n" + "".join(f"    assert {a}\n" for a in asserts)


# ---------------------------------------------------------------- function
FN_EN = "Write a Python function `{sig}` that {what} Reply with the function in a ```python code block."
FN_ZH = "请编写 Python 函数 `{sig}`：{what}请把函数放在 ```python 代码块中。"

FUNCTIONS = [
("en", "slugify(title)", "slugify", "turns a title into a URL slug: lowercase, every run of characters that are not letters or digits becomes a single '-', and no '-' at either end. For example slugify('Hello, World!') returns 'hello-world'.",
 "import re\n\ndef slugify(title):\n    return re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')\n",
 tests("candidate('Hello, World!') == 'hello-world'", "candidate('  C++ & Rust  ') == 'c-rust'", "candidate('') == ''", "candidate('2024 Report v2') == '2024-report-v2'", "candidate('---') == ''")),
("en", "parse_query(qs)", "parse_query", "parses a URL query string such as 'a=1&b=two' into a dict of strings. Pairs without '=' map to an empty string, empty pieces are skipped, and when a key repeats the last value wins.",
 "def parse_query(qs):\n    out = {}\n    for part in qs.split('&'):\n        if not part:\n            continue\n        key, _, value = part.partition('=')\n        out[key] = value\n    return out\n",
 tests("candidate('a=1&b=two') == {'a': '1', 'b': 'two'}", "candidate('') == {}", "candidate('flag&x=1') == {'flag': '', 'x': '1'}", "candidate('a=1&a=2') == {'a': '2'}", "candidate('a=1&&b=') == {'a': '1', 'b': ''}")),
("en", "password_problems(pw)", "password_problems", "returns the list of rules a password breaks, in this order: 'length' (fewer than 8 characters), 'digit' (no digit), 'upper' (no uppercase letter), 'lower' (no lowercase letter). A good password gives [].",
 "def password_problems(pw):\n    problems = []\n    if len(pw) < 8:\n        problems.append('length')\n    if not any(c.isdigit() for c in pw):\n        problems.append('digit')\n    if not any(c.isupper() for c in pw):\n        problems.append('upper')\n    if not any(c.islower() for c in pw):\n        problems.append('lower')\n    return problems\n",
 tests("candidate('Secret123') == []", "candidate('abc') == ['length', 'digit', 'upper']", "candidate('ALLUPPER99') == ['lower']", "candidate('') == ['length', 'digit', 'upper', 'lower']", "candidate('lowercase1') == ['upper']")),
("en", "invoice_total(items, tax_rate)", "invoice_total", "computes an invoice total. items is a list of (unit_price, quantity) tuples; add tax_rate (e.g. 0.2 for 20%) to the subtotal and return the total rounded to 2 decimal places.",
 "def invoice_total(items, tax_rate):\n    subtotal = sum(price * qty for price, qty in items)\n    return round(subtotal * (1 + tax_rate), 2)\n",
 tests("candidate([(10.0, 2), (5.5, 1)], 0.2) == 30.6", "candidate([], 0.2) == 0", "candidate([(3.333, 3)], 0) == 10.0", "candidate([(100, 1)], 0.075) == 107.5")),
("zh", "mask_phone(phone)", "mask_phone", "把 11 位手机号的中间四位替换成星号，例如 mask_phone('13800138000') 返回 '138****8000'；如果输入不是 11 位数字，原样返回。",
 "def mask_phone(phone):\n    if len(phone) != 11 or not phone.isdigit():\n        return phone\n    return phone[:3] + '****' + phone[7:]\n",
 tests("candidate('13800138000') == '138****8000'", "candidate('12345') == '12345'", "candidate('1380013800a') == '1380013800a'", "candidate('19912345678') == '199****5678'")),
("zh", "merge_intervals(intervals)", "merge_intervals", "合并有重叠（或首尾相接）的闭区间，输入是 [起点, 终点] 列表（不一定有序），返回按起点排序的合并结果。例如 [[1, 3], [2, 6], [8, 10]] 返回 [[1, 6], [8, 10]]。",
 "def merge_intervals(intervals):\n    out = []\n    for start, end in sorted(intervals):\n        if out and start <= out[-1][1]:\n            out[-1][1] = max(out[-1][1], end)\n        else:\n            out.append([start, end])\n    return out\n",
 tests("candidate([[1, 3], [2, 6], [8, 10]]) == [[1, 6], [8, 10]]", "candidate([]) == []", "candidate([[5, 6], [1, 2]]) == [[1, 2], [5, 6]]", "candidate([[1, 4], [4, 5]]) == [[1, 5]]", "candidate([[1, 10], [2, 3]]) == [[1, 10]]")),
("zh", "percent_change(old, new)", "percent_change", "计算从 old 到 new 的百分比变化，返回保留一位小数的浮点数（例如 80 到 100 返回 25.0）；old 为 0 时返回 None。",
 "def percent_change(old, new):\n    if old == 0:\n        return None\n    return round((new - old) / old * 100, 1)\n",
 tests("candidate(80, 100) == 25.0", "candidate(0, 5) is None", "candidate(200, 150) == -25.0", "candidate(3, 4) == 33.3", "candidate(7, 7) == 0.0")),
("zh", "count_by(records, key)", "count_by", "records 是字典列表，统计每个 key 字段取值出现的次数，返回字典；缺少该字段的记录计入键 None。",
 "def count_by(records, key):\n    counts = {}\n    for r in records:\n        v = r.get(key)\n        counts[v] = counts.get(v, 0) + 1\n    return counts\n",
 tests("candidate([{'c': 'a'}, {'c': 'b'}, {'c': 'a'}], 'c') == {'a': 2, 'b': 1}", "candidate([], 'c') == {}", "candidate([{'x': 1}, {'c': 2}], 'c') == {None: 1, 2: 1}")),
]

# ---------------------------------------------------------------- bug fix
FIX_EN = ("This Python function has a bug. Running it gives the error below. Fix the function and reply with the "
          "corrected function in a ```python code block.\n\n{code}\n\nError:\n```\n{error}\n```\n{note}")
FIX_ZH = ("下面的 Python 函数有错误，运行时出现了下面的报错。请修复这个函数，并在 ```python 代码块中给出修改后的完整函数。\n\n"
          "{code}\n\n报错信息：\n```\n{error}\n```\n{note}")

BUGFIXES = [
("en", "average", "def average(nums):\n    return sum(nums) / len(nums)\n",
 "Traceback (most recent call last):\n  File \"app.py\", line 9, in <module>\n    print(average([]))\n  File \"app.py\", line 2, in average\n    return sum(nums) / len(nums)\nZeroDivisionError: division by zero",
 "The average of an empty list should be 0.0.",
 "def average(nums):\n    if not nums:\n        return 0.0\n    return sum(nums) / len(nums)\n",
 tests("candidate([]) == 0.0", "candidate([1, 2, 3]) == 2", "candidate([5]) == 5")),
("en", "add_item", "def add_item(item, items=[]):\n    items.append(item)\n    return items\n",
 "AssertionError: add_item('b') returned ['a', 'b'] but expected ['b'] (a previous call's item leaked in)",
 "Each call without a list should start from a new empty list.",
 "def add_item(item, items=None):\n    if items is None:\n        items = []\n    items.append(item)\n    return items\n",
 tests("candidate('a') == ['a']", "candidate('b') == ['b']", "candidate('c', ['x']) == ['x', 'c']")),
("en", "word_counts", "def word_counts(text):\n    counts = {}\n    for word in text.lower().split():\n        counts[word] += 1\n    return counts\n",
 "Traceback (most recent call last):\n  File \"count.py\", line 7, in <module>\n    word_counts('the cat the end')\n  File \"count.py\", line 4, in word_counts\n    counts[word] += 1\nKeyError: 'the'",
 "", "def word_counts(text):\n    counts = {}\n    for word in text.lower().split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts\n",
 tests("candidate('the cat the end') == {'the': 2, 'cat': 1, 'end': 1}", "candidate('') == {}", "candidate('A a') == {'a': 2}")),
("en", "format_price", "def format_price(name, cents):\n    return name + ': $' + cents // 100 + '.' + cents % 100\n",
 "Traceback (most recent call last):\n  File \"shop.py\", line 5, in <module>\n    format_price('Tea', 450)\n  File \"shop.py\", line 2, in format_price\n    return name + ': $' + cents // 100 + '.' + cents % 100\nTypeError: can only concatenate str (not \"int\") to str",
 "The cents part must always have two digits, e.g. format_price('Tea', 405) == 'Tea: $4.05'.",
 "def format_price(name, cents):\n    return f'{name}: ${cents // 100}.{cents % 100:02d}'\n",
 tests("candidate('Tea', 450) == 'Tea: $4.50'", "candidate('Tea', 405) == 'Tea: $4.05'", "candidate('Gum', 99) == 'Gum: $0.99'", "candidate('Car', 1234500) == 'Car: $12345.00'")),
("zh", "sum_to_n", "def sum_to_n(n):\n    total = 0\n    for i in range(1, n):\n        total += i\n    return total\n",
 "AssertionError: sum_to_n(3) 应该返回 6（1+2+3），实际返回 3",
 "函数应返回 1 到 n（包含 n）的和，n 小于 1 时返回 0。",
 "def sum_to_n(n):\n    total = 0\n    for i in range(1, n + 1):\n        total += i\n    return total\n",
 tests("candidate(3) == 6", "candidate(1) == 1", "candidate(0) == 0", "candidate(100) == 5050")),
("zh", "last_word", "def last_word(sentence):\n    return sentence.split()[-1]\n",
 "Traceback (most recent call last):\n  File \"demo.py\", line 4, in <module>\n    last_word('   ')\n  File \"demo.py\", line 2, in last_word\n    return sentence.split()[-1]\nIndexError: list index out of range",
 "没有单词时返回空字符串。",
 "def last_word(sentence):\n    words = sentence.split()\n    return words[-1] if words else ''\n",
 tests("candidate('   ') == ''", "candidate('hello big world') == 'world'", "candidate('one') == 'one'", "candidate('') == ''")),
("zh", "is_sorted", "def is_sorted(nums):\n    for i in range(len(nums) - 1):\n        if nums[i] >= nums[i + 1]:\n            return False\n    return True\n",
 "AssertionError: is_sorted([1, 2, 2, 3]) 应该返回 True（非降序也算有序），实际返回 False",
 "", "def is_sorted(nums):\n    for i in range(len(nums) - 1):\n        if nums[i] > nums[i + 1]:\n            return False\n    return True\n",
 tests("candidate([1, 2, 2, 3]) is True", "candidate([3, 1]) is False", "candidate([]) is True", "candidate([5]) is True", "candidate([1, 3, 2]) is False")),
("zh", "factorial", "def factorial(n):\n    return n * factorial(n - 1)\n",
 "Traceback (most recent call last):\n  File \"math_utils.py\", line 4, in <module>\n    factorial(5)\n  File \"math_utils.py\", line 2, in factorial\n    return n * factorial(n - 1)\n  [Previous line repeated 996 more times]\nRecursionError: maximum recursion depth exceeded",
 "factorial(0) 应该等于 1。",
 "def factorial(n):\n    if n <= 1:\n        return 1\n    return n * factorial(n - 1)\n",
 tests("candidate(5) == 120", "candidate(0) == 1", "candidate(1) == 1", "candidate(10) == 3628800")),
]

# ---------------------------------------------------------------- explain
EXPLAIN = [
("en", "Explain how binary search works and what its time complexity is.",
 [{"name": "sorted input", "any": ["sorted", "ordered", "in order"]},
  {"name": "compare with the middle", "any": ["middle", "midpoint", "mid-point", "mid ", "center", "centre"]},
  {"name": "discard half", "any": ["half", "halves", "halving", "divide", "split"]},
  {"name": "logarithmic time", "any": ["o(log n)", "log n", "logarithmic", "log(n)", "log2", "o(logn)"]}],
 "Binary search finds a value in a sorted array. It compares the target with the middle element: if they are equal the search is done, if the target is smaller it continues in the left half, otherwise in the right half. Each step discards half of the remaining elements, so it needs at most about log2(n) comparisons: the time complexity is O(log n), with O(1) extra space for the iterative version."),
("en", "What is a hash table, and why are lookups usually fast? Mention what happens on collisions.",
 [{"name": "hash function", "any": ["hash function", "hashing function", "hashes the key", "hash code", "hashing", "hash("]},
  {"name": "buckets or slots", "any": ["bucket", "slot", "array index", "index into an array", "an index", "array"]},
  {"name": "collisions", "any": ["collision", "collide", "same index", "same bucket", "same slot"]},
  {"name": "resolution", "any": ["chaining", "linked list", "open addressing", "probing", "probe", "list of entries"]},
  {"name": "constant time", "any": ["o(1)", "constant time", "constant-time", "constant average"]}],
 "A hash table stores key-value pairs in an array of buckets. A hash function turns each key into an array index, so a lookup only has to inspect one bucket instead of scanning everything: on average insertions and lookups take O(1), constant time. Two keys can hash to the same bucket; such a collision is resolved by chaining (a small linked list per bucket) or by open addressing (probing for another free slot). When the table gets too full it is resized to keep the chains short."),
("en", "Explain dynamic programming using the Fibonacci numbers as the example.",
 [{"name": "overlapping subproblems", "any": ["overlapping", "same subproblem", "recomputed", "recompute", "repeated", "again and again", "subproblem"]},
  {"name": "store results", "any": ["memoization", "memoisation", "memoize", "cache", "table", "store"]},
  {"name": "recurrence", "any": ["f(n-1)", "f(n - 1)", "fib(n-1)", "fib(n - 1)", "n-1", "n - 1"]},
  {"name": "linear time", "any": ["o(n)", "linear"]}],
 "Dynamic programming solves a problem by combining answers to smaller subproblems and storing each answer so it is computed only once. The naive recursion fib(n) = fib(n - 1) + fib(n - 2) recomputes the same subproblems again and again and takes exponential time. With memoization (a cache of results) or a bottom-up table filled from fib(0) and fib(1) upwards, each value is computed once, so the running time drops to O(n), linear, and the bottom-up version needs only the last two values."),
("en", "How does an LRU cache work? Describe the data structures that make get and put O(1).",
 [{"name": "least recently used", "any": ["least recently used", "least-recently-used"]},
  {"name": "eviction at capacity", "any": ["evict", "remove the", "removes the", "discard", "capacity", "full"]},
  {"name": "hash map", "any": ["hash map", "hashmap", "dictionary", "hash table", "dict"]},
  {"name": "doubly linked list", "any": ["doubly linked list", "doubly-linked list", "linked list", "ordereddict"]},
  {"name": "constant time", "any": ["o(1)", "constant time"]}],
 "An LRU (least recently used) cache keeps a fixed number of entries. When it is full and a new key is added, it evicts the entry that was used least recently. To make get and put O(1) it combines a hash map from key to node with a doubly linked list that keeps the entries in order of use: every access moves the node to the front, and eviction removes the node at the back of the list. Both operations take constant time. In Python, collections.OrderedDict provides the same behaviour."),
("zh", "请解释快速排序的原理，并说明它的平均和最坏时间复杂度。",
 [{"name": "基准", "any": ["基准", "枢轴", "pivot", "主元", "轴值", "分界值"]},
  {"name": "划分", "any": ["划分", "分区", "partition", "分割", "分成两部分"]},
  {"name": "递归", "any": ["递归"]},
  {"name": "平均复杂度", "any": ["o(n log n)", "o(nlogn)", "n log n", "nlogn"]},
  {"name": "最坏复杂度", "any": ["o(n^2)", "o(n²)", "o(n2)", "n^2", "n²", "平方"]}],
 "快速排序先从数组中选一个基准元素（pivot），然后进行划分：把比基准小的元素放到左边，比基准大的放到右边。接着对左右两部分分别递归地做同样的操作，直到子数组长度为 0 或 1。平均情况下每次划分大致把数组分成两半，时间复杂度是 O(n log n)；如果每次选到的基准都是最大或最小值（例如对已排序数组总选第一个元素），划分极不平衡，最坏时间复杂度是 O(n^2)。随机选择基准可以避免这种情况。"),
("zh", "什么是广度优先搜索（BFS）？它用什么数据结构，适合解决什么问题？",
 [{"name": "逐层", "any": ["逐层", "一层一层", "层次", "按层", "层序", "由近及远", "相邻"]},
  {"name": "队列", "any": ["队列", "queue"]},
  {"name": "已访问", "any": ["访问过", "已访问", "visited", "标记", "重复访问"]},
  {"name": "最短路径", "any": ["最短路径", "最短距离", "最少步数", "最短", "最少"]}],
 "广度优先搜索（BFS）从起点出发，先访问所有相邻的节点，再访问下一层的节点，也就是逐层向外扩展。它使用队列（queue）：把起点放入队列，每次从队首取出一个节点，把它还没有访问过的邻居标记为已访问并加入队尾。因为节点是按距离起点的层数被访问的，在无权图中 BFS 第一次到达某个节点时走的就是最短路径，所以常用来求最短路径、最少步数，以及判断连通性。时间复杂度是 O(V + E)。"),
("zh", "请解释归并排序是怎么工作的，它是不是稳定排序？需要多少额外空间？",
 [{"name": "分成两半", "any": ["两半", "一分为二", "分成两", "拆分", "对半", "二分", "分割"]},
  {"name": "合并", "any": ["合并", "归并", "merge"]},
  {"name": "稳定", "any": ["稳定"]},
  {"name": "额外空间", "any": ["o(n)", "额外空间", "辅助数组", "临时数组", "额外的数组", "额外数组"]},
  {"name": "复杂度", "any": ["o(n log n)", "o(nlogn)", "n log n"]}],
 "归并排序采用分治思想：先把数组拆分成两半，分别递归地排序，再把两个已经有序的子数组合并成一个有序数组。合并时用两个指针依次比较两边的元素，把较小的放入辅助数组。它的时间复杂度在任何情况下都是 O(n log n)。归并排序是稳定排序：相等元素合并时先取左边的，就能保持原来的相对顺序。它需要 O(n) 的额外空间来存放辅助数组。"),
("zh", "请解释 Dijkstra 最短路径算法的思路，以及它对边权有什么要求。",
 [{"name": "距离初始化", "any": ["无穷", "infinity", "初始化", "∞", "inf"]},
  {"name": "选择最小距离", "any": ["最小", "最近", "最短"]},
  {"name": "松弛", "any": ["松弛", "更新", "relax", "更短"]},
  {"name": "优先队列", "any": ["优先队列", "堆", "priority queue", "heap"]},
  {"name": "非负权重", "any": ["非负", "负权", "不能为负", "负数", "负的", "正数", "不能有负"]}],
 "Dijkstra 算法求单源最短路径。先把起点的距离设为 0，其余节点初始化为无穷大。每一步从尚未确定的节点中选出当前距离最小的节点，把它的距离确定下来，然后对它的每条出边做松弛：如果经过它到达邻居更近，就更新邻居的距离。用优先队列（最小堆）来选最小距离的节点，时间复杂度是 O((V + E) log V)。算法要求所有边权非负，如果存在负权边，结果可能错误，这时要用 Bellman-Ford 算法。"),
]

# ---------------------------------------------------------------- data -> JSON
JSON_EN = "{task}\n\nReply with only the JSON, matching this JSON Schema:\n```json\n{schema}\n```"
JSON_ZH = "{task}\n\n只输出 JSON，并符合下面的 JSON Schema：\n```json\n{schema}\n```"
STR, INT, NUM, BOOL = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}


def obj(props):
    return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}


def arr(items, n):
    return {"type": "array", "items": items, "minItems": n, "maxItems": n}


DATA_JSON = [
("en", "Turn this contact card into JSON.\n\nName: Olivia Brandt\nEmail: olivia.brandt@example.org\nPhone: +44 20 7946 0018\nNewsletter: yes",
 obj({"name": STR, "email": STR, "phone": STR, "newsletter": BOOL}),
 {"name": "Olivia Brandt", "email": "olivia.brandt@example.org", "phone": "+44 20 7946 0018", "newsletter": True}),
("en", "Convert this CSV into a JSON array of objects with numeric prices and integer stock.\n\n```\nsku,name,price,stock\nA-1,Mug,7.5,40\nB-2,Teapot,24,5\n```",
 arr(obj({"sku": STR, "name": STR, "price": NUM, "stock": INT}), 2),
 [{"sku": "A-1", "name": "Mug", "price": 7.5, "stock": 40}, {"sku": "B-2", "name": "Teapot", "price": 24, "stock": 5}]),
("en", "Turn this sentence into JSON: \"The meeting with Acme Corp is on 2024-03-18 at 10:30 in Room B and will last 2 hours.\"",
 obj({"with": STR, "date": STR, "time": STR, "room": STR, "hours": NUM}),
 {"with": "Acme Corp", "date": "2024-03-18", "time": "10:30", "room": "Room B", "hours": 2}),
("en", "Represent this shopping list as JSON with a total count of items.\n\n- 2 apples\n- 1 loaf of bread\n- 6 eggs",
 obj({"items": arr(obj({"name": STR, "quantity": INT}), 3), "total_quantity": INT}),
 {"items": [{"name": "apples", "quantity": 2}, {"name": "bread", "quantity": 1}, {"name": "eggs", "quantity": 6}], "total_quantity": 9}),
("zh", "把下面的员工信息转换成 JSON。\n\n姓名：周婷；部门：市场部；工号：10086；入职年份：2019；是否全职：是",
 obj({"name": STR, "department": STR, "employee_id": INT, "start_year": INT, "full_time": BOOL}),
 {"name": "周婷", "department": "市场部", "employee_id": 10086, "start_year": 2019, "full_time": True}),
("zh", "把下面的课程表转换成 JSON 数组，每节课包含 day（英文星期名，如 Monday）、course 和 period（第几节，整数）。\n\n周一第 2 节：数学\n周三第 1 节：英语\n周五第 3 节：物理",
 arr(obj({"day": {"type": "string", "enum": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]}, "course": STR, "period": INT}), 3),
 [{"day": "Monday", "course": "数学", "period": 2}, {"day": "Wednesday", "course": "英语", "period": 1}, {"day": "Friday", "course": "物理", "period": 3}]),
("zh", "把这条记账信息转换成 JSON：“2024 年 4 月 3 日，在超市买水果花了 36.8 元，用微信支付。”（日期用 YYYY-MM-DD）",
 obj({"date": STR, "category": STR, "amount": NUM, "payment": STR}),
 {"date": "2024-04-03", "category": "水果", "amount": 36.8, "payment": "微信"}),
("zh", "统计下面这句话里每种水果的数量，输出 JSON 对象（键用英文 apple、banana、orange）：“篮子里有 3 个苹果、5 根香蕉和 2 个橙子，后来又放进去 1 个苹果。”",
 obj({"apple": INT, "banana": INT, "orange": INT}),
 {"apple": 4, "banana": 5, "orange": 2}),
]
DATA_JSON_FREE = {4: ["/department"], 6: ["/category", "/payment"]}  # 0-based task index -> free pointers

# ---------------------------------------------------------------- data scripts
SCRIPT_EN = ("Write a Python script that {what} The file is in the current directory. Use only the standard "
             "library. Reply with the whole script in a ```python code block.\n\nThe first lines of {src}:\n```\n{head}\n```")
SCRIPT_ZH = ("编写一个 Python 脚本：{what}文件在当前目录下，只能使用标准库。请在 ```python 代码块中给出完整脚本。\n\n{src} 的前几行：\n```\n{head}\n```")


def csv_text(rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


SALES = [["date", "region", "amount"], ["2024-01-03", "north", "120.50"], ["2024-01-03", "south", "80.00"],
         ["2024-01-04", "north", "99.50"], ["2024-01-05", "east", "40.25"], ["2024-01-05", "south", "19.75"],
         ["2024-01-06", "north", "10.00"], ["2024-01-07", "east", "59.75"]]
STUDENTS = [["name", "class", "score"], ["Ava", "A", "91"], ["Ben", "B", "78"], ["Cleo", "A", "85"], ["Dev", "B", "95"],
            ["Eli", "A", "62"], ["Fay", "B", "88"], ["Gus", "A", "95"]]
LOGS = [["timestamp", "level", "message"], ["2024-05-01T09:12:00", "INFO", "start"], ["2024-05-01T09:40:10", "ERROR", "db timeout"],
        ["2024-05-01T09:59:59", "ERROR", "db timeout"], ["2024-05-01T10:01:00", "WARN", "slow"], ["2024-05-01T10:30:00", "ERROR", "disk full"],
        ["2024-05-01T12:00:00", "INFO", "stop"]]
INVENTORY = [["item", "qty", "reorder_level"], ["bolts", "120", "100"], ["nuts", "40", "50"], ["washers", "0", "20"],
             ["screws", "500", "200"], ["rivets", "19", "20"]]
EMPLOYEES = [["姓名", "部门", "工资"], ["张三", "研发", "18000"], ["李四", "研发", "22000"], ["王五", "销售", "12000"],
             ["赵六", "销售", "15000"], ["钱七", "财务", "13000"]]
EMAILS = [["name", "email"], ["Lin", "Lin@Example.com"], ["Kai", "kai@example.com"], ["lin", " lin@example.com "],
          ["Mo", "mo@example.net"], ["KAI", "KAI@EXAMPLE.COM"]]
TEMPS = [["date", "temp_c"], ["2024-01-10", "3.5"], ["2024-01-20", "-1.5"], ["2024-02-02", "4.0"], ["2024-02-15", "6.5"],
         ["2024-02-28", "8.0"], ["2024-03-01", "10.0"]]
ORDERS = [["order_id", "customer", "quantity", "unit_price"], ["1", "c1", "2", "9.99"], ["2", "c2", "1", "120.00"],
          ["3", "c1", "5", "3.50"], ["4", "c3", "3", "15.00"], ["5", "c2", "2", "30.25"]]


def sales_totals():
    t = {}
    for d, r, a in SALES[1:]:
        t[r] = round(t.get(r, 0) + float(a), 2)
    return t


def top3():
    rows = sorted(STUDENTS[1:], key=lambda r: (-int(r[2]), r[0]))[:3]
    return [[r[0], r[2]] for r in rows]


def errors_per_hour():
    out = {}
    for ts, lvl, _ in LOGS[1:]:
        if lvl == "ERROR":
            h = ts[11:13]
            out[h] = out.get(h, 0) + 1
    return out


def low_stock():
    return sorted(r[0] for r in INVENTORY[1:] if int(r[1]) < int(r[2]))


def dept_avg():
    s, n = {}, {}
    for _, d, w in EMPLOYEES[1:]:
        s[d] = s.get(d, 0) + int(w)
        n[d] = n.get(d, 0) + 1
    return {d: round(s[d] / n[d], 1) for d in s}


def unique_emails():
    seen, out = set(), []
    for _, e in EMAILS[1:]:
        e = e.strip().lower()
        if e not in seen:
            seen.add(e)
            out.append(e)
    return out


def monthly_avg():
    s, n = {}, {}
    for d, t in TEMPS[1:]:
        m = d[:7]
        s[m] = s.get(m, 0) + float(t)
        n[m] = n.get(m, 0) + 1
    return [[m, f"{s[m] / n[m]:.1f}"] for m in sorted(s)]


def revenue():
    t = {}
    for _, c, q, p in ORDERS[1:]:
        t[c] = t.get(c, 0) + int(q) * float(p)
    return sorted(((c, round(v, 2)) for c, v in t.items()), key=lambda x: -x[1])


SCRIPTS = [
("en", "sales.csv", SALES, "reads sales.csv (columns date, region, amount) and writes totals.json: a JSON object mapping each region to the sum of its amounts, rounded to 2 decimals.",
 "import csv\nimport json\n\ntotals = {}\nwith open('sales.csv', newline='') as f:\n    for row in csv.DictReader(f):\n        totals[row['region']] = totals.get(row['region'], 0) + float(row['amount'])\nwith open('totals.json', 'w') as f:\n    json.dump({k: round(v, 2) for k, v in totals.items()}, f)\n",
 f"import json\n_got = json.load(open('totals.json'))\n_want = {sales_totals()!r}\nassert set(_got) == set(_want), _got\nfor _k in _want:\n    assert abs(_got[_k] - _want[_k]) < 1e-6, (_k, _got[_k])\n"),
("en", "students.csv", STUDENTS, "reads students.csv (columns name, class, score) and writes top3.csv with the header name,score and the three students with the highest scores, highest first (ties broken by name, alphabetically).",
 "import csv\n\nwith open('students.csv', newline='') as f:\n    rows = list(csv.DictReader(f))\nrows.sort(key=lambda r: (-int(r['score']), r['name']))\nwith open('top3.csv', 'w', newline='') as f:\n    w = csv.writer(f)\n    w.writerow(['name', 'score'])\n    for r in rows[:3]:\n        w.writerow([r['name'], r['score']])\n",
 f"import csv\n_rows = list(csv.reader(open('top3.csv', newline='')))\nassert _rows[0] == ['name', 'score'], _rows[0]\nassert [[r[0], str(int(float(r[1])))] for r in _rows[1:]] == {top3()!r}, _rows\n"),
("en", "app_log.csv", LOGS, "reads app_log.csv (columns timestamp, level, message; timestamps like 2024-05-01T09:12:00) and writes errors_by_hour.json: a JSON object mapping the two-digit hour (\"09\") to the number of ERROR lines in that hour. Hours without errors are left out.",
 "import csv\nimport json\n\ncounts = {}\nwith open('app_log.csv', newline='') as f:\n    for row in csv.DictReader(f):\n        if row['level'] == 'ERROR':\n            hour = row['timestamp'][11:13]\n            counts[hour] = counts.get(hour, 0) + 1\nwith open('errors_by_hour.json', 'w') as f:\n    json.dump(counts, f)\n",
 f"import json\nassert json.load(open('errors_by_hour.json')) == {errors_per_hour()!r}\n"),
("en", "inventory.csv", INVENTORY, "reads inventory.csv (columns item, qty, reorder_level) and writes reorder.txt listing, one per line and in alphabetical order, the items whose qty is below their reorder_level.",
 "import csv\n\nwith open('inventory.csv', newline='') as f:\n    low = sorted(r['item'] for r in csv.DictReader(f) if int(r['qty']) < int(r['reorder_level']))\nwith open('reorder.txt', 'w') as f:\n    f.write('\\n'.join(low) + '\\n')\n",
 f"_lines = [l.strip() for l in open('reorder.txt') if l.strip()]\nassert _lines == {low_stock()!r}, _lines\n"),
("zh", "employees.csv", EMPLOYEES, "读取 employees.csv（列名为 姓名、部门、工资，UTF-8 编码），计算每个部门的平均工资（保留一位小数），写入 dept_avg.json，格式为 {部门: 平均工资}。",
 "import csv\nimport json\n\nsums, counts = {}, {}\nwith open('employees.csv', newline='', encoding='utf-8') as f:\n    for row in csv.DictReader(f):\n        d = row['部门']\n        sums[d] = sums.get(d, 0) + int(row['工资'])\n        counts[d] = counts.get(d, 0) + 1\nresult = {d: round(sums[d] / counts[d], 1) for d in sums}\nwith open('dept_avg.json', 'w', encoding='utf-8') as f:\n    json.dump(result, f, ensure_ascii=False)\n",
 f"import json\n_got = json.load(open('dept_avg.json', encoding='utf-8'))\n_want = {dept_avg()!r}\nassert set(_got) == set(_want), _got\nfor _k in _want:\n    assert abs(_got[_k] - _want[_k]) < 0.051, (_k, _got[_k])\n"),
("zh", "contacts.csv", EMAILS, "读取 contacts.csv（列 name、email），把邮箱去掉首尾空格并转成小写后去重（保留第一次出现的顺序），把结果逐行写入 unique_emails.txt。",
 "import csv\n\nseen = []\nwith open('contacts.csv', newline='') as f:\n    for row in csv.DictReader(f):\n        e = row['email'].strip().lower()\n        if e not in seen:\n            seen.append(e)\nwith open('unique_emails.txt', 'w') as f:\n    for e in seen:\n        f.write(e + '\\n')\n",
 f"_lines = [l.strip() for l in open('unique_emails.txt') if l.strip()]\nassert _lines == {unique_emails()!r}, _lines\n"),
("zh", "temps.csv", TEMPS, "读取 temps.csv（列 date、temp_c，日期格式 YYYY-MM-DD），按月份计算平均气温，写入 monthly.csv，表头为 month,avg_temp，month 形如 2024-01，平均值保留一位小数，按月份升序排列。",
 "import csv\n\nsums, counts = {}, {}\nwith open('temps.csv', newline='') as f:\n    for row in csv.DictReader(f):\n        m = row['date'][:7]\n        sums[m] = sums.get(m, 0.0) + float(row['temp_c'])\n        counts[m] = counts.get(m, 0) + 1\nwith open('monthly.csv', 'w', newline='') as f:\n    w = csv.writer(f)\n    w.writerow(['month', 'avg_temp'])\n    for m in sorted(sums):\n        w.writerow([m, f'{sums[m] / counts[m]:.1f}'])\n",
 f"import csv\n_rows = list(csv.reader(open('monthly.csv', newline='')))\nassert _rows[0] == ['month', 'avg_temp'], _rows[0]\n_want = {monthly_avg()!r}\nassert len(_rows) - 1 == len(_want), _rows\nfor _r, _w in zip(_rows[1:], _want):\n    assert _r[0] == _w[0] and abs(float(_r[1]) - float(_w[1])) < 0.051, (_r, _w)\n"),
("zh", "orders.csv", ORDERS, "读取 orders.csv（列 order_id、customer、quantity、unit_price），计算每个客户的总消费额（quantity × unit_price 之和），按总额从高到低写入 revenue.csv，表头为 customer,total，总额保留两位小数。",
 "import csv\n\ntotals = {}\nwith open('orders.csv', newline='') as f:\n    for row in csv.DictReader(f):\n        totals[row['customer']] = totals.get(row['customer'], 0.0) + int(row['quantity']) * float(row['unit_price'])\nwith open('revenue.csv', 'w', newline='') as f:\n    w = csv.writer(f)\n    w.writerow(['customer', 'total'])\n    for c, t in sorted(totals.items(), key=lambda kv: -kv[1]):\n        w.writerow([c, f'{t:.2f}'])\n",
 f"import csv\n_rows = list(csv.reader(open('revenue.csv', newline='')))\nassert _rows[0] == ['customer', 'total'], _rows[0]\n_want = {revenue()!r}\nassert [r[0] for r in _rows[1:]] == [c for c, _ in _want], _rows\nfor _r, (_c, _t) in zip(_rows[1:], _want):\n    assert abs(float(_r[1]) - _t) < 0.006, (_r, _t)\n"),
]


# ---------------------------------------------------------------- build
def build():
    tasks = []
    for i, (lang, sig, name, what, ref, test) in enumerate(FUNCTIONS, 1):
        tmpl = FN_ZH if lang == "zh" else FN_EN
        tasks.append({"id": f"basics/function/{i}", "kind": "function", "language": lang,
                      "prompt": tmpl.format(sig=sig, what=what), "grader": "exec", "entry_point": name,
                      "test": test, "test_call": f"check({name})",
                      "reference": (fence(ref) if i % 2 else ref)})
    for i, (lang, name, buggy, error, note, fixed, test) in enumerate(BUGFIXES, 1):
        tmpl = FIX_ZH if lang == "zh" else FIX_EN
        lead = "修复后的函数：\n\n" if lang == "zh" else "The fixed function:\n\n"
        tasks.append({"id": f"basics/bugfix/{i}", "kind": "bugfix", "language": lang,
                      "prompt": tmpl.format(code=fence(buggy), error=error, note=note).rstrip(), "grader": "exec",
                      "entry_point": name, "test": test, "test_call": f"check({name})",
                      "reference": lead + fence(fixed)})
    for i, (lang, question, points, answer) in enumerate(EXPLAIN, 1):
        tasks.append({"id": f"basics/explain/{i}", "kind": "explain", "language": lang, "prompt": question,
                      "grader": "rubric", "rubric": {"points": points}, "reference": answer})
    for i, (lang, task, schema, ref) in enumerate(DATA_JSON, 1):
        tmpl = JSON_ZH if lang == "zh" else JSON_EN
        free = DATA_JSON_FREE.get(i - 1, [])
        from gen_json import leaves
        tasks.append({"id": f"basics/json/{i}", "kind": "json", "language": lang,
                      "prompt": tmpl.format(task=task, schema=json.dumps(schema, ensure_ascii=False)),
                      "grader": "json", "schema": schema,
                      "expected": {p: v for p, v in leaves(ref) if p not in free},
                      "reference": json.dumps(ref, ensure_ascii=False, indent=2)})
    for i, (lang, src, rows, what, ref, test) in enumerate(SCRIPTS, 1):
        tmpl = SCRIPT_ZH if lang == "zh" else SCRIPT_EN
        content = csv_text(rows)
        head = "\n".join(content.splitlines()[:4])
        tasks.append({"id": f"basics/script/{i}", "kind": "script", "language": lang,
                      "prompt": tmpl.format(what=what, src=src, head=head), "grader": "exec", "script": True,
                      "fixtures": [{"name": src, "content": content}], "test": test,
                      "reference": fence(ref)})
    return tasks
