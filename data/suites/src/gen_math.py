"""The `math` suite: grade-school word problems with exact numeric answers,
in English and Chinese.  Each answer is computed here from the numbers in
the question, and the reference solution shows the steps and ends with the
GSM8K-style final line "#### N".  Original problems written for tinylm."""

EN_INSTR = ("Solve the following math problem step by step. At the end, write the final "
            "answer on its own line in the form \"#### <number>\".\n\n")
ZH_INSTR = "请一步一步地解答下面的数学题。最后单独一行按 \"#### <数字>\" 的格式写出最终答案。\n\n"


def P(lang, question, steps, answer):
    return (lang, question, steps, answer)


def problems():
    out = []
    # 1
    a, b, c = 24, 7, 5
    out.append(P("en", f"A baker made {a} muffins. She sold {b} in the morning and {c} in the afternoon. How many muffins are left?",
                 f"{a} - {b} - {c} = {a - b - c}", a - b - c))
    # 2
    n, price = 6, 3
    out.append(P("en", f"Tom buys {n} notebooks that cost ${price} each. He pays with a $20 bill. How much change does he get, in dollars?",
                 f"{n} * {price} = {n * price}; 20 - {n * price} = {20 - n * price}", 20 - n * price))
    # 3
    rows, per = 8, 12
    out.append(P("zh", f"礼堂里有 {rows} 排椅子，每排 {per} 把。如果已经坐了 45 人，还有多少把空椅子？",
                 f"{rows} × {per} = {rows * per}；{rows * per} - 45 = {rows * per - 45}", rows * per - 45))
    # 4
    speed, hours = 60, 3.5
    out.append(P("en", f"A train travels at {speed} kilometres per hour for {hours} hours. How many kilometres does it travel?",
                 f"{speed} * {hours} = {int(speed * hours)}", int(speed * hours)))
    # 5
    total, kids = 56, 7
    out.append(P("en", f"{total} stickers are shared equally among {kids} children. Each child then gives 2 stickers to a teacher. How many stickers does each child have now?",
                 f"{total} / {kids} = {total // kids}; {total // kids} - 2 = {total // kids - 2}", total // kids - 2))
    # 6
    out.append(P("zh", "小明每天读书 25 页，一本书有 300 页。他已经读了 8 天，还要读多少天才能读完？",
                 "25 × 8 = 200；300 - 200 = 100；100 ÷ 25 = 4", 4))
    # 7
    w, l = 12, 9
    out.append(P("en", f"A rectangular garden is {w} metres long and {l} metres wide. A fence goes all the way around it. How many metres of fence are needed?",
                 f"2 * ({w} + {l}) = {2 * (w + l)}", 2 * (w + l)))
    # 8
    out.append(P("en", "A shirt costs $40. It is on sale for 25% off. What is the sale price in dollars?",
                 "40 * 0.25 = 10; 40 - 10 = 30", 30))
    # 9
    out.append(P("zh", "一个水池能装 1200 升水。一根水管每分钟注水 15 升，已经注了 40 分钟。还需要多少分钟才能注满？",
                 "15 × 40 = 600；1200 - 600 = 600；600 ÷ 15 = 40", 40))
    # 10
    out.append(P("en", "Maria is 3 times as old as her son. In 12 years she will be twice as old as him. How old is Maria now?",
                 "m = 3s and 3s + 12 = 2(s + 12), so s = 12 and m = 36", 36))
    # 11
    out.append(P("en", "A farmer has chickens and cows. There are 30 heads and 74 legs. How many cows are there?",
                 "c + h = 30, 4c + 2h = 74, so 2c = 74 - 60 = 14, c = 7", 7))
    # 12
    out.append(P("zh", "商店里苹果每千克 8 元，香蕉每千克 6 元。妈妈买了 3 千克苹果和 2 千克香蕉，付了 50 元，应找回多少元？",
                 "8 × 3 = 24；6 × 2 = 12；24 + 12 = 36；50 - 36 = 14", 14))
    # 13
    out.append(P("en", "A school has 480 students. 5/8 of them walk to school and the rest take the bus. How many students take the bus?",
                 "480 * 5/8 = 300 walk; 480 - 300 = 180", 180))
    # 14
    out.append(P("en", "Lena saves $15 every week. She already has $45. How many weeks will it take her to have $180 in total?",
                 "180 - 45 = 135; 135 / 15 = 9", 9))
    # 15
    out.append(P("zh", "一辆汽车 4 小时行驶了 280 千米。照这样的速度，行驶 490 千米需要多少小时？",
                 "280 ÷ 4 = 70；490 ÷ 70 = 7", 7))
    # 16
    out.append(P("en", "A box holds 24 pencils. A teacher needs 150 pencils for her class. How many boxes must she buy?",
                 "150 / 24 = 6.25, so she needs 7 boxes", 7))
    # 17
    out.append(P("en", "The temperature was -4 degrees at 6 am and rose by 3 degrees every hour. What was the temperature at 11 am?",
                 "11 - 6 = 5 hours; -4 + 5 * 3 = 11", 11))
    # 18
    out.append(P("zh", "小红有 36 颗糖，小刚的糖是小红的 2 倍少 10 颗。两人一共有多少颗糖？",
                 "36 × 2 - 10 = 62；36 + 62 = 98", 98))
    # 19
    out.append(P("en", "A pizza is cut into 12 slices. Ana eats 1/4 of the pizza and Ben eats 1/3 of it. How many slices are left?",
                 "12 / 4 = 3; 12 / 3 = 4; 12 - 3 - 4 = 5", 5))
    # 20
    out.append(P("en", "A phone plan costs $25 per month plus $0.10 per text message. In March, Sam sent 340 messages. What was his bill in dollars?",
                 "340 * 0.10 = 34; 25 + 34 = 59", 59))
    # 21
    out.append(P("zh", "一本故事书 45 元，一本字典的价格是故事书的 3 倍。买 2 本字典和 1 本故事书一共要多少元？",
                 "45 × 3 = 135；135 × 2 + 45 = 315", 315))
    # 22
    out.append(P("en", "A cyclist rides 18 km on Monday, twice as far on Tuesday, and 5 km less on Wednesday than on Tuesday. How many kilometres does she ride in the three days?",
                 "Tuesday 36; Wednesday 31; 18 + 36 + 31 = 85", 85))
    # 23
    out.append(P("en", "A concert hall sold 1,250 tickets at $18 each and 340 VIP tickets at $45 each. How much money did it take in, in dollars?",
                 "1250 * 18 = 22500; 340 * 45 = 15300; 22500 + 15300 = 37800", 37800))
    # 24
    out.append(P("zh", "学校买了 5 箱作业本，每箱 40 本。分给 8 个班，每班分到的本数一样多，每班分到多少本？",
                 "5 × 40 = 200；200 ÷ 8 = 25", 25))
    # 25
    out.append(P("en", "Water in a tank drops by 8 litres per day. After 9 days, 128 litres are left. How many litres were in the tank at the start?",
                 "8 * 9 = 72; 128 + 72 = 200", 200))
    # 26
    out.append(P("en", "The average of four test scores is 85. Three of the scores are 80, 90 and 78. What is the fourth score?",
                 "85 * 4 = 340; 340 - 80 - 90 - 78 = 92", 92))
    # 27
    out.append(P("zh", "一个长方形的周长是 36 厘米，长是宽的 2 倍。这个长方形的面积是多少平方厘米？",
                 "长 + 宽 = 18，宽 = 6，长 = 12；12 × 6 = 72", 72))
    # 28
    out.append(P("en", "Jake works 7 hours a day, 5 days a week, and earns $14 per hour. How much does he earn in 4 weeks, in dollars?",
                 "7 * 5 = 35 hours a week; 35 * 14 = 490; 490 * 4 = 1960", 1960))
    # 29
    out.append(P("en", "A class has 32 students. The ratio of boys to girls is 3:5. How many girls are in the class?",
                 "32 / 8 = 4; 4 * 5 = 20", 20))
    # 30
    out.append(P("zh", "爸爸今年 42 岁，儿子今年 10 岁。几年后爸爸的年龄是儿子的 3 倍？",
                 "42 + x = 3(10 + x)，2x = 12，x = 6", 6))
    # 31
    out.append(P("en", "A store sells pens in packs of 6 for $4. How much do 45 pens cost if you must buy whole packs, in dollars?",
                 "45 / 6 = 7.5, so 8 packs; 8 * 4 = 32", 32))
    # 32
    out.append(P("en", "A recipe uses 3 eggs for every 2 cups of flour. How many eggs are needed for 10 cups of flour?",
                 "10 / 2 = 5; 5 * 3 = 15", 15))
    # 33
    out.append(P("zh", "一件衣服原价 200 元，先打八折，再减 15 元。现在卖多少元？",
                 "200 × 0.8 = 160；160 - 15 = 145", 145))
    # 34
    out.append(P("en", "A bus leaves at 8:45 and the trip takes 2 hours and 35 minutes. At what time does it arrive? Give the answer as minutes after midnight.",
                 "8:45 + 2:35 = 11:20; 11 * 60 + 20 = 680", 680))
    # 35
    out.append(P("en", "Three friends split a restaurant bill of $84 and add a 15% tip to the total. How much does each friend pay, in dollars?",
                 "84 * 1.15 = 96.6; 96.6 / 3 = 32.2", 32.2))
    # 36
    out.append(P("zh", "果园里有苹果树 120 棵，梨树比苹果树少 1/4，桃树比梨树多 30 棵。桃树有多少棵？",
                 "120 × (1 - 1/4) = 90；90 + 30 = 120", 120))
    # 37
    out.append(P("en", "A library had 2,400 books. It gave away 15% of them and then bought 230 new books. How many books does it have now?",
                 "2400 * 0.15 = 360; 2400 - 360 + 230 = 2270", 2270))
    # 38
    out.append(P("en", "A car uses 6 litres of fuel per 100 km. Fuel costs $1.50 per litre. How much does fuel cost for a 450 km trip, in dollars?",
                 "450 / 100 * 6 = 27 litres; 27 * 1.5 = 40.5", 40.5))
    # 39
    out.append(P("zh", "甲、乙两地相距 360 千米。两辆车同时从两地相对开出，一辆每小时 50 千米，另一辆每小时 70 千米。几小时后两车相遇？",
                 "50 + 70 = 120；360 ÷ 120 = 3", 3))
    # 40
    out.append(P("en", "Emma has 3 more red marbles than blue marbles and twice as many green marbles as red ones. She has 45 marbles in total. How many green marbles does she have?",
                 "b + (b + 3) + 2(b + 3) = 45, 4b + 9 = 45, b = 9, red 12, green 24", 24))
    # 41
    out.append(P("en", "A water bottle holds 750 millilitres. How many full bottles can be filled from a 20-litre jug, and how many millilitres are left over? Give the number of millilitres left over.",
                 "20000 / 750 = 26 bottles (19500 ml); 20000 - 19500 = 500", 500))
    # 42
    out.append(P("zh", "某工厂第一天生产零件 850 个，以后每天比前一天多生产 50 个。前 4 天一共生产多少个零件？",
                 "850 + 900 + 950 + 1000 = 3700", 3700))
    return out


def fmt(x):
    return str(int(x)) if float(x) == int(x) else repr(x)


def build():
    tasks = []
    for i, (lang, q, steps, ans) in enumerate(problems(), 1):
        a = fmt(ans)
        instr = ZH_INSTR if lang == "zh" else EN_INSTR
        lead = "解：" if lang == "zh" else "Solution: "
        tasks.append({
            "id": f"math/{i:03d}", "kind": "math", "language": lang,
            "prompt": instr + q, "grader": "numeric", "answer": a,
            "reference": f"{lead}{steps}.\n#### {a}",
        })
    return tasks
