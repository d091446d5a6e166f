"""Generate the demo case exports in demo/cases/, demo/expected_triage.csv and demo/README.md.

生成演示用的诉求导出文件（模拟 12345 热线、网格平台、城市放大镜的导出），以及每条记录的
预期分诊结果和说明文档。脚本是确定性的：重复运行会写出逐字节相同的文件。

    cd /work/main && .venv/bin/python demo/make_demo_cases.py

Before writing anything the script checks the data against demo/roster.yaml: every valid row's
address lies in exactly one grid, the intended category wins a naive keyword count, the intended
urgency and the duplicate pairs follow from the triage rules, and every bad row is bad for
exactly the documented reason. All people, phone numbers and addresses are invented.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

DEMO = Path(__file__).resolve().parent
ROOT = DEMO.parent
CASES = DEMO / "cases"
sys.path.insert(0, str(ROOT))

from liandong.roster import load_roster  # noqa: E402

HEADERS = ["工单编号", "受理时间", "诉求标题", "诉求内容", "诉求类别", "紧急程度", "所属社区",
           "所属网格", "事发地址", "反映人", "联系电话", "来源渠道"]


@dataclass
class Row:
    ref: str
    t: datetime                      # received time (Beijing time)
    title: str
    content: str
    address: str
    reporter: str
    channel: str = "12345热线"
    community: str = ""              # 所属社区 as exported (often empty)
    grid: str = ""                   # 所属网格 as exported (mostly empty)
    cat: str = ""                    # 诉求类别 as exported (often empty)
    urg: str = ""                    # 紧急程度 as exported: "" / 紧急 / 一般
    # What the product should make of the row (not exported):
    expect: str = ""                 # category id, "out_of_scope", "unclassified" or "bad"
    level: str = "normal"            # expected urgency
    dup_of: str = ""                 # 工单编号 of the earlier case this likely duplicates
    scenario: str = ""               # seed scenario (article) it illustrates
    bad: str = ""                    # for bad rows: the reason expected in quarantine
    raw: dict = field(default_factory=dict)   # export-level overrides (bad values, cell types)


def T(s: str) -> datetime:
    return datetime.strptime(s, "%Y-%m-%d %H:%M")


def phone(name: str) -> str:
    """A stable, invented 11-digit mobile number for a reporter."""
    h = hashlib.sha256(("liandong-demo:" + name).encode()).hexdigest()
    return ["13", "15", "18"][int(h[0], 16) % 3] + str(int(h[1:16], 16))[-9:].zfill(9)


# ---------------------------------------------------------------------------------------------
# The cases, file by file.
# ---------------------------------------------------------------------------------------------

F1 = [  # 2026-11-02_12345热线.csv — GBK, 受理时间 "2026-11-02 09:15:00"
    Row("RX20261101017", T("2026-11-01 23:42"), "昌州路歌厅夜间噪音扰民",
        "我住在昌州路126号三河汇碧小区7栋，楼下沿街十来家KTV每天晚上开到凌晨两三点，低音炮震得"
        "窗户玻璃嗡嗡响，关上窗也没用。家里孩子明年中考，晚上根本睡不着觉。之前打过一次电话，"
        "安静了两天又照旧，希望有关部门管一管，至少晚上十二点以后把音量降下来。",
        "昌州路126号三河汇碧小区7栋", "谭丽君", community="星光社区",
        expect="noise", scenario="002 歌厅噪声（十多家歌厅夜间扰民）"),
    Row("RX20261102003", T("2026-11-02 08:05"), "山边巷二排巷道建筑垃圾堆放多日无人清理",
        "我是山边巷二排的住户，巷道口有一大堆建筑垃圾，碎砖、水泥块、拆下来的旧门窗都有，是隔壁"
        "那户装修时倒的，放了快半个月了。巷子本来就窄，现在电动车都推不过去，早上送孩子上学只能"
        "绕一大圈，严重影响出行，希望尽快清运。",
        "山边巷二排14号门前", "麦秀琼",
        expect="construction_waste", level="high", scenario="000 建筑垃圾堵路（武垄社区来电）"),
    Row("RX20261102005", T("2026-11-02 08:31"), "俊豪宽天下小区南门外路灯不亮",
        "星光路18号俊豪宽天下小区南门外那一排路灯已经黑了一个多星期，晚上下班回来一片漆黑，前两天"
        "有位大姐拎着菜在这里被台阶绊倒，膝盖都磕破了。麻烦尽快派人来修一下。",
        "星光路18号俊豪宽天下小区南门", "彭建华", community="星光社区", cat="道路与市政设施",
        expect="roads", scenario="日常：路灯"),
    Row("RX20261102006", T("2026-11-02 08:47"), "东湖花园居民楼道停放电动车并飞线充电",
        "东湖花园3栋二单元有住户每天晚上从三楼窗户吊一根插线板下来，给楼下的电动车充电，这种飞线"
        "充电太吓人了。楼道里还停着四五辆电动车，把通道堵了一半。上个月别的小区电动车起火的新闻"
        "大家都看了，心里很不踏实，这是明显的安全隐患，请消防部门和物业来管一管。",
        "东湖花园3栋二单元", "韦志明",
        expect="fire_safety", level="high", scenario="日常：楼道电动车充电"),
    Row("RX20261102007", T("2026-11-02 09:02"), "石冲新村菜市场后面流浪狗聚集",
        "石冲新村菜市场后面最近聚了七八条流浪狗，晚上成群地叫，前天追着一个放学的小学生跑，孩子"
        "吓得直哭。有几条看着很瘦，身上还掉毛长癣，担心咬伤人或者传染病。希望有关部门想办法收容。",
        "石冲新村菜市场北侧", "钟美玲", community="桥西社区",
        expect="animals", scenario="日常：流浪狗"),
    Row("RX20261102008", T("2026-11-02 09:15"), "滨江路人行道井盖缺失",
        "滨江路和桥西大街路口东侧人行道上有个井盖不见了，只剩一个黑洞，旁边有人放了个破纸箱挡着。"
        "那里是小学生放学的必经之路，天一黑根本看不见，请马上处理！",
        "滨江路与桥西大街路口东侧", "梁国辉", urg="紧急",
        expect="roads", level="urgent", scenario="日常：井盖"),
    Row("RX20261102011", T("2026-11-02 09:40"), "前夫拒不搬离判决归我的房子",
        "我和前夫去年离婚，法院判决房子归我，但他一直住着不搬，上个月还把门锁换了。我想让社区"
        "出面把他请走，或者帮我写材料去法院申请强制执行。",
        "桥西大街45号2单元", "黄小红", community="桥西社区",
        expect="out_of_scope", scenario="范围外：离婚后房产纠纷（法院事项）"),
    Row("RX20261102012", T("2026-11-02 10:06"), "老粮站宿舍顶楼下雨渗水",
        "老粮站宿舍5栋顶楼，连着下了三天雨，卧室天花板一直往下渗水，墙角全发霉了，盆都接不过来。"
        "这是原粮站的老房子，没有物业，找不到人修，屋顶防水层估计早就坏了，请帮忙协调。",
        "老粮站宿舍5栋601", "杜长江", community="桥西社区",
        expect="property", scenario="002 房屋漏水（急难愁盼）"),
    Row("RX20261102014", T("2026-11-02 10:22"), "星光东巷车棚电瓶接连被偷",
        "星光东巷12号自行车棚这个月连着被偷了三个电动车电瓶，车棚的监控好像早就坏了。晚上经常有"
        "陌生面孔在车棚边转悠，这一片治安越来越让人担心，希望派出所加强夜间巡逻。",
        "星光东巷12号自行车棚", "贺建军", community="星光社区",
        expect="public_order", scenario="日常：盗窃"),
    # Bad rows.
    Row("RX20261102015", T("2026-11-02 10:35"), "", "", "东湖路66号", "林淑芬", community="东湖社区",
        expect="bad", bad="诉求标题和诉求内容都为空 / title and content both empty"),
    Row("RX20261102016", T("2026-11-02 10:50"), "上城嘉泰东门垃圾桶满溢",
        "上城嘉泰小区东门外的垃圾桶满了两天没人收，周围味道很大。",
        "上城嘉泰小区东门", "温海燕", community="桥西社区",
        expect="bad", bad="受理时间不是有效日期（13月45日） / received time is not a valid date",
        raw={"受理时间": "2026-13-45 10:50:00"}),
]

F2 = [  # 2026-11-03_网格平台.xlsx — some 受理时间 real datetime cells, some text "2026/11/03 9:15"
    Row("WG20261102031", T("2026-11-02 15:20"), "化工厂小区大树枝叶压住进户电线",
        "巡查时化工厂小区居民反映，小区里几棵老黄葛树多年没人修剪，树冠已经长过四楼，有的树枝直接"
        "压在进户电线上，一刮风就噼啪冒火花。树下是居民晾衣服、带孩子歇脚的地方，存在电线短路和"
        "树枝掉落伤人的安全隐患。该小区属三无小区，没有物业，也没有维修资金，居民无力自行处理。",
        "化工厂小区3栋旁", "罗大成", channel="网格巡查", community="星光社区", grid="星光第二网格",
        cat="树木绿化", expect="trees_greening", level="high",
        scenario="002 三无小区老树威胁电线（卧龙凼社区网格员巡查）", raw={"cell": "datetime"}),
    Row("WG20261102033", T("2026-11-02 16:05"), "光明路27号院外墙墙皮大面积空鼓",
        "我局在联合排查中发现，光明路27号院1栋、2栋临街一侧外墙瓷砖和墙皮大面积空鼓开裂，上周已有"
        "碎块掉在人行道上。楼下是早餐店和公交站，人流量大，随时可能坠落伤人。建议社区大党委尽快"
        "研究，先拉警戒线，再申请纳入老旧小区改造计划。",
        "光明路27号院1栋", "梁振华", channel="共建单位提议", community="桥西社区", urg="紧急",
        expect="building_safety", level="urgent",
        scenario="000 应急管理局在大党委会议上提出小区墙体脱落", raw={"cell": "datetime"}),
    Row("WG20261102036", T("2026-11-02 17:10"), "石冲一巷住户在家养鸡，异味引来蟑螂",
        "走访时多户居民反映，石冲一巷8号一楼的陈大爷在后院和阳台搭了鸡笼，在居民楼里饲养家禽二十多"
        "只，鸡粪不及时清理，从夏天到现在异味一直散不掉，整栋楼蟑螂越来越多。大爷七十多岁，脾气倔，"
        "邻居上门说过几次都不听，需要社区和他子女一起做做工作。",
        "石冲一巷8号", "区丽萍", channel="上门走访", community="桥西社区", grid="桥西第三网格",
        expect="animals", scenario="004 老人在家养鸡，异味惹来蟑螂"),
    Row("WG20261103002", T("2026-11-03 07:55"), "东湖路菜场门口占道经营",
        "每天傍晚东湖路菜场门口到公交站这一段，流动摊贩把三轮车直接摆进机动车道，卖水果的、"
        "烤串的都有，下班高峰堵得公交车都过不去，烧烤油烟也大。希望城管在这个时段来管一管。",
        "东湖路菜场门口至公交站", "黄丽华", channel="网格巡查", grid="东湖第一网格",
        cat="市场秩序", expect="market", scenario="日常：占道经营", raw={"cell": "datetime"}),
    Row("WG20261103004", T("2026-11-03 08:40"), "俊豪宽天下6栋电梯频繁停运",
        "俊豪宽天下小区6栋电梯这个月已经停了三次，昨天还有人被困在里面二十多分钟。楼里有好几户"
        "腿脚不方便的，爬十八楼根本上不去。物业说要等配件，一拖再拖，请督促物业尽快维修，"
        "并请有资质的单位做一次检测。",
        "俊豪宽天下小区6栋", "熊文静", channel="上门走访", community="星光社区",
        expect="property", scenario="002 楼院管理难（电梯）", raw={"cell": "datetime", "phone_int": True}),
    Row("WG20261103006", T("2026-11-03 09:15"), "渔港新村农贸市场后面化粪池外溢",
        "渔港新村农贸市场后面的化粪池满了，污水从下水道口冒出来，淌了一地，臭味很重，苍蝇成堆。"
        "市场的人说不归他们管，居民进出只能踮着脚走。",
        "渔港新村农贸市场后门", "吴建国", channel="网格巡查", grid="东湖第二网格",
        expect="sanitation", scenario="日常：污水外溢"),
    Row("WG20261103007", T("2026-11-03 09:48"), "滨港御城小区乱停车严重",
        "滨港御城小区地面车位早就不够用，最近外来车辆晚上直接停在小区主干道两侧，垃圾车和救护车"
        "都开不进来。还有一辆白色面包车停了一个多月没动过，像是僵尸车。希望物业和交警一起把乱停"
        "的问题管起来。",
        "滨港御城小区主干道", "赵德明", channel="网格巡查", community="桥西社区", grid="桥西第二网格",
        expect="parking", scenario="002 停车难", raw={"cell": "datetime", "phone_int": True}),
    Row("WG20261103009", T("2026-11-03 10:30"), "卧龙凼路独居老人吃饭困难",
        "卧龙凼路32号的独居老人王婆婆今年86岁，老伴去年走了，子女都在外地。最近她腿脚不好，"
        "买菜做饭都很困难，经常一天只吃一顿泡饭。希望社区帮她对接助餐送餐服务，定期有人上门看看。",
        "卧龙凼路32号", "李秀英", channel="上门走访", community="星光社区",
        expect="elderly_care", scenario="004 解难救困（独居老人助餐）→ 无派单规则，进认领清单"),
    Row("WG20261103012", T("2026-11-03 11:05"), "湖滨北巷路面坑洼积水",
        "湖滨北巷靠近东湖路口那一段，路上全是大大小小的坑，最大的一个有脸盆那么大，下雨积水"
        "看不出深浅，这个月已经有两个骑电动车的在这里摔了。",
        "湖滨北巷东口", "邝国强", channel="网格巡查", community="东湖社区",
        expect="roads", scenario="日常：路面破损", raw={"cell": "datetime"}),
    # Bad rows.
    Row("WG20261103013", T("2026-11-03 11:30"), "桥西大街行道树断枝挂在半空",
        "桥西大街88号门口一根很粗的树枝被风刮断了，挂在半空中，下面人来人往。",
        "桥西大街88号", "梁小燕", channel="网格巡查", grid="桥西第一网格",
        expect="bad", bad="受理时间无法解析（“昨天下午”） / received time cannot be parsed",
        raw={"受理时间": "昨天下午"}),
    Row("WG20261103014", T("2026-11-03 11:52"), "神女湖路小区门口下水道堵塞",
        "神女湖路65号小区门口的下水道堵了，一下雨就积水，污水漫到人行道上。",
        "神女湖路65号", "何春燕", channel="上门走访", community="星光社区",
        expect="bad", bad="联系电话含字母 / phone number contains letters",
        raw={"联系电话": "138abc56789"}),
]

F3 = [  # 2026-11-04_城市放大镜.jsonl — ISO 8601 with +08:00; two broken lines
    Row("FDJ-2026-110301", T("2026-11-03 17:36"), "山边巷二排巷道口建筑垃圾堆积",
        "路过山边巷时看到二排巷道口堆着一大堆建筑垃圾和渣土，占了大半个巷道，旁边居民说已经堆了"
        "半个月。建议城管尽快清理，顺便查一查是哪家装修倾倒的。",
        "山边巷二排14号门前", "苏文涛", channel="城市放大镜", community="东湖社区",
        expect="construction_waste", dup_of="RX20261102003",
        scenario="000 建筑垃圾堵路（疑似重复：两天前热线已反映）"),
    Row("FDJ-2026-110302", T("2026-11-03 18:10"), "上城嘉泰东门外生活垃圾无人清运",
        "上城嘉泰小区东门外的垃圾桶三天没人收，生活垃圾堆得比桶还高，塑料袋被风刮到马路上。"
        "请督促环卫加密垃圾清运频次。",
        "上城嘉泰小区东门", "卢家宝", channel="城市放大镜",
        expect="sanitation", scenario="日常：生活垃圾清运"),
    Row("FDJ-2026-110303", T("2026-11-03 19:25"), "东湖路中段绿化带枯树倾斜",
        "东湖路中段绿化带里有一棵枯树，树干已经空了，整棵往人行道方向歪，大风天很可能倒下来砸到人，"
        "存在安全隐患。建议园林部门尽快修剪或者移除。",
        "东湖路中段绿化带", "蒋立新", channel="城市放大镜", community="东湖社区",
        expect="trees_greening", level="high", scenario="002 树木隐患"),
    Row("FDJ-2026-110401", T("2026-11-04 07:50"), "神女湖小学对面小吃店疑似无证经营",
        "神女湖小学门口斜对面新开了一家小吃店，店里没看到营业执照，卖的辣条、饮料很多是三无产品，"
        "放学时挤满了小学生，疑似无证经营，担心食品安全出问题。",
        "神女湖路神女湖小学对面", "唐慧", channel="城市放大镜", community="星光社区",
        expect="market", scenario="日常：食品安全"),
    Row("FDJ-2026-110402", T("2026-11-04 08:22"), "星光路54号至80号本周三次停电",
        "星光路54号到80号这一片这周已经停电三次了，每次一两个小时，事先没有任何通知。居民冰箱里的"
        "东西都坏了，有一户居家吸氧的病人受影响很大。",
        "星光路54号至80号", "严志远", channel="城市放大镜",
        expect="power", scenario="日常：停电"),
    Row("FDJ-2026-110403", T("2026-11-04 08:45"), "滨江路夜宵街周末频发酒后打架",
        "滨江路夜宵一条街最近几乎每个周末都有喝醉酒的人打架，上周六凌晨还有人砸了店里的桌椅，"
        "附近居民晚上都不敢下楼。建议增加周末夜间巡防力量。",
        "滨江路夜宵街", "莫振宇", channel="城市放大镜", community="桥西社区",
        expect="public_order", scenario="日常：治安"),
    Row("FDJ-2026-110404", T("2026-11-04 09:12"), "桥西大街餐馆后巷燃气味浓",
        "桥西大街102号临街餐馆后面一直闻到很浓的燃气味，像是燃气泄漏，店里还在正常开火炒菜。"
        "我已经提醒过老板，他说没事。请相关部门马上来检查！",
        "桥西大街102号", "陈晓东", channel="城市放大镜", urg="紧急",
        expect="fire_safety", level="urgent", scenario="紧急：燃气泄漏"),
]
# Lines of F3 that are not valid objects, as (0-based line index in the file, text, ref, reason).
F3_BROKEN = [
    (4, '{"工单编号": "FDJ-2026-110405", "受理时间": "2026-11-04T09:40:00+08:00", "诉求标题": "东湖花园门口',
     "FDJ-2026-110405", "该行不是完整的 JSON（导出时被截断） / line is not valid JSON (truncated export)"),
    (6, json.dumps(["FDJ-2026-110406", "2026-11-04T10:05:00+08:00", "桥西大街路灯不亮",
                    "桥西大街东段路灯晚上全灭。", "", "", "桥西社区", "", "桥西大街东段", "麦志成",
                    phone("麦志成"), "城市放大镜"], ensure_ascii=False),
     "FDJ-2026-110406", "该行是 JSON 数组而不是对象（没有字段名） / line is a JSON array, not an object"),
]

F4 = [  # 2026-11-06_12345热线.csv — UTF-8 with BOM, 受理时间 "2026年11月6日 09:15"
    Row("RX20261105021", T("2026-11-05 22:58"), "三河汇碧歌厅又吵到凌晨",
        "三河汇碧这边的歌厅又吵到凌晨一点多了，卡拉OK的声音隔着两条街都听得见。白天上班晚上睡不好，"
        "人都快崩溃了。听说楼上邻居也打过电话，到底有没有人管？",
        "昌州路126号三河汇碧小区7栋", "曾宪伟",
        expect="noise", dup_of="RX20261101017", scenario="002 歌厅噪声（疑似重复：不同居民、4天后）"),
    Row("RX20261106002", T("2026-11-06 08:12"), "神女湖路行道树遮挡住户采光",
        "神女湖路两边的行道树长得太密了，树枝都伸到二三楼窗户边上，屋里白天都得开灯，还有虫子"
        "顺着树枝爬进家里。希望园林部门安排修剪一下。",
        "神女湖路40号", "付雅婷", community="星光社区",
        expect="trees_greening", scenario="日常：树木修剪"),
    Row("RX20261106004", T("2026-11-06 08:36"), "白石村桥底成了卫生死角",
        "白石村村口桥底下成了卫生死角，总有人半夜往那里倒生活垃圾和死鱼烂虾，天一热臭味熏人，"
        "还经常看到老鼠窜来窜去。希望清理一次，再装个监控。",
        "白石村村口桥底", "甘永福",
        expect="sanitation", scenario="日常：卫生死角"),
    Row("RX20261106005", T("2026-11-06 09:03"), "上城嘉泰小区门禁坏了一个月没修",
        "上城嘉泰小区的门禁坏了快一个月，大门一直敞着，外卖、推销的随便进出。物业收着物业费，"
        "却说没钱换新的，请有关部门督促一下。",
        "上城嘉泰小区正门", "潘志豪", community="桥西社区", cat="物业服务",
        expect="property", scenario="002 楼院管理难"),
    Row("RX20261106007", T("2026-11-06 09:30"), "网上买的羽绒服商家拒绝退款",
        "我在网上买的羽绒服有质量问题，商家不同意退，平台客服也推来推去。想问问社区能不能帮我"
        "处理网购退款的事情。",
        "东湖花园8栋1单元", "秦雪梅", community="东湖社区",
        expect="out_of_scope", scenario="范围外：网购退款（消费纠纷）"),
    Row("RX20261106009", T("2026-11-06 10:02"), "石冲二巷高龄独居老人摔倒无人知晓",
        "石冲二巷5号的李大爷是高龄独居老人，子女都在广州打工。上周他在家摔了一跤，邻居发现时已经"
        "躺了大半天。能不能给他装个一键呼叫设备，再安排志愿者定期上门探望？",
        "石冲二巷5号", "区秀兰", community="桥西社区",
        expect="elderly_care", scenario="004 解难救困（独居老人）→ 认领清单"),
    Row("RX20261106010", T("2026-11-06 10:25"), "滨江路地铁工地夜间施工",
        "滨江路地铁站工地这半个月天天夜间施工，凌晨一两点还在打桩，噪声特别大，整栋楼的人都被吵醒。"
        "工地公示牌上写的是晚上十点停工，希望环保部门去查一查。",
        "滨江路168号对面地铁工地", "邓丽娟",
        expect="noise", scenario="日常：施工噪声"),
    Row("RX20261106012", T("2026-11-06 11:18"), "俊豪宽天下2栋安全出口被杂物堵死",
        "俊豪宽天下小区2栋的消防通道被住户堆放杂物堵死了：\n"
        "1. 一楼有人把旧沙发、纸箱堆在安全出口；\n"
        "2. 楼梯间也塞着几辆自行车和婴儿车。\n"
        "万一出点事人都跑不出去，请物业和消防部门来看看。",
        "俊豪宽天下小区2栋", "宁海涛", community="星光社区",
        expect="fire_safety", scenario="日常：消防通道堵塞（内容含换行）"),
    # Bad row.
    Row("RX20261106014", T("2026-11-06 11:40"), "解放西路路灯不亮",
        "解放西路88号门口的两盏路灯坏了快一个月，晚上黑漆漆的。",
        "解放西路88号", "霍家明", community="河东社区",
        expect="bad",
        bad="所属社区“河东社区”不在花名册中，事发地址也不属于任何网格 / unknown community and the address matches no grid"),
]

F6 = [  # 2026-11-10_网格平台.xlsx — datetime cells and text "2026-11-10 08:40"
    Row("WG20261109021", T("2026-11-09 14:30"), "上城嘉泰楼下流浪猫聚集",
        "上城嘉泰3栋有住户在楼下长期投喂流浪猫，现在聚了二十多只，晚上叫个不停，花坛里全是猫屎，"
        "有小孩被抓伤过。希望和投喂的住户沟通，联系救助机构。",
        "上城嘉泰小区3栋", "赵德明", channel="网格巡查", community="桥西社区", grid="桥西第二网格",
        expect="animals", scenario="日常：流浪猫", raw={"cell": "datetime"}),
    Row("WG20261109024", T("2026-11-09 16:15"), "昌州路工地渣土车沿路抛撒",
        "昌州路新建工地的渣土车进出都不盖篷布，沿路撒了一路砂石和泥浆，晴天一路扬尘，下雨天"
        "满街是泥，骑车的人滑倒过好几个。",
        "昌州路工地出口", "王海波", channel="网格巡查", grid="星光第三网格", cat="建筑垃圾",
        expect="construction_waste", scenario="000 建筑垃圾（渣土抛撒）", raw={"cell": "datetime"}),
    Row("WG20261110001", T("2026-11-10 07:20"), "渔港新村12栋配电箱破损可能漏电",
        "渔港新村12栋旁边的配电箱门被车撞坏了，里面的电线都露在外面。昨晚下雨后有个小孩用手碰了"
        "一下，说手被麻了一下，可能漏电。已经用三角锥围起来，请供电所马上来处理。",
        "渔港新村12栋", "吴建国", channel="网格巡查", community="东湖社区", grid="东湖第二网格",
        urg="紧急", expect="power", level="urgent", scenario="紧急：漏电", raw={"cell": "datetime"}),
    Row("WG20261110003", T("2026-11-10 08:05"), "东湖花园楼上水管爆裂漏水到楼下",
        "东湖花园5栋1102家里水管爆了，水从天花板往下淌，我家吊顶泡坏了一大片，地板也起鼓了。"
        "楼上住户出差联系不上，物业说没有钥匙管不了。请物业协调处理漏水。",
        "东湖花园5栋1002", "侯佳慧", channel="上门走访", community="东湖社区",
        expect="property", scenario="002 房屋漏水", raw={"phone_int": True}),
    Row("WG20261110004", T("2026-11-10 08:40"), "星光路人行道地砖松动",
        "星光路人行道的地砖很多松动翘起，踩上去一晃，雨天一踩就溅一脚泥水，推婴儿车、推轮椅的"
        "都很难走。",
        "星光路30号至46号", "陈志强", channel="网格巡查", community="星光社区", urg="一般",
        expect="roads", scenario="日常：人行道"),
    Row("WG20261110006", T("2026-11-10 09:35"), "石冲新村9栋飞线充电",
        "石冲新村9栋楼下的电动车都是从二楼窗户吊线下来飞线充电，晚上插着一排，线就搭在晾衣杆上。"
        "楼道里也停了好几辆，已多次劝导无效，存在安全隐患。",
        "石冲新村9栋", "区伟强", channel="网格巡查", grid="桥西第三网格", cat="消防安全",
        expect="fire_safety", level="high", scenario="日常：电动车充电", raw={"cell": "datetime"}),
    Row("WG20261110007", T("2026-11-10 10:10"), "滨港御城中心花园绿化无人养护",
        "滨港御城小区中心花园的绿化好几个月没人打理，草长得半人高，灌木也没修剪，蚊子特别多，"
        "晚上都没人敢在里面散步。",
        "滨港御城小区中心花园", "钱美华", channel="上门走访", community="桥西社区",
        expect="trees_greening", scenario="日常：绿化养护", raw={"cell": "datetime"}),
    Row("WG20261110009", T("2026-11-10 11:00"), "东湖路文化广场广场舞音响太大",
        "东湖路文化广场每天晚上有两支广场舞队伍，音响开得很大，一直跳到九点半以后。旁边几栋住的"
        "很多是上夜班的工人，根本休息不了。希望能约定时间、把音量调小。",
        "东湖路文化广场", "黄丽华", channel="网格巡查", grid="东湖第一网格",
        expect="noise", scenario="日常：广场舞噪音"),
]

F7 = [  # 2026-11-12_12345热线.csv — plain UTF-8, 受理时间 "2026/11/12 9:15"
    Row("RX20261111019", T("2026-11-11 19:48"), "东湖路公交站附近一段路灯全灭",
        "东湖路88号公交站往湖边走的那一段，四五盏路灯全灭了。晚上在湖边跑步散步的人很多，"
        "黑乎乎的，女孩子一个人走很不安全。",
        "东湖路88号公交站旁", "曹文斌", community="东湖社区",
        expect="roads", scenario="日常：路灯"),
    Row("RX20261112002", T("2026-11-12 07:33"), "东湖花园地下车库连续发生盗窃",
        "东湖花园地下车库这周有三户人家车窗被砸，车里的东西被偷，物业的监控拍得模模糊糊什么也"
        "看不清。希望派出所加强这一片的治安巡逻。",
        "东湖花园地下车库", "尹俊杰",
        expect="public_order", scenario="日常：盗窃"),
    Row("RX20261112003", T("2026-11-12 08:10"), "俊豪宽天下小区遛狗不牵绳",
        "俊豪宽天下小区里好几户遛狗不牵绳，大型犬只在儿童游乐区乱跑，前天把一个四岁的小孩扑倒了，"
        "孩子家长和狗主人还吵了一架。希望规范一下养犬。",
        "俊豪宽天下小区儿童游乐区", "夏晓琳", community="星光社区",
        expect="animals", scenario="日常：文明养犬"),
    Row("RX20261112005", T("2026-11-12 08:47"), "星光路菜市场门口车辆占道停放",
        "星光路菜市场门口每天早上一排私家车占道停放，把公交站台都挡住了，乘客只能站到马路中间"
        "上车。乱停车的问题说了好久了，希望有关部门整治。",
        "星光路72号菜市场门口", "邵国平",
        expect="parking", scenario="日常：乱停车"),
    Row("RX20261112006", T("2026-11-12 09:15"), "滨港御城8栋只剩一部电梯能用",
        "滨港御城8栋两部电梯坏了一部快二十天，剩下一部早晚高峰要排队十几分钟，楼上还有坐轮椅的"
        "住户。物业一直说在走维修流程，请督促尽快修好电梯。",
        "滨港御城小区8栋", "古雪莲", community="桥西社区",
        expect="property", scenario="002 楼院管理难（电梯）"),
    Row("RX20261112008", T("2026-11-12 09:58"), "光明路空地有人偷倒装修垃圾",
        "光明路27号院旁边那块空地晚上老有人开小货车来偷倒装修垃圾，碎砖、石膏板、旧马桶一堆一堆的，"
        "现在快堆成小山了。",
        "光明路27号院西侧空地", "黎志勇", community="桥西社区",
        expect="construction_waste", scenario="000 建筑垃圾"),
    Row("RX20261112010", T("2026-11-12 10:40"), "化工厂小区垃圾桶太少，生活垃圾天天溢出",
        "化工厂小区一共就两个垃圾桶，生活垃圾每天都溢出来，堆在路边招苍蝇。这个问题已经多次反映"
        "过了，一直没有增加，希望这次能落实。",
        "化工厂小区入口", "罗大成", community="星光社区", cat="环境卫生",
        expect="sanitation", level="high", scenario="002 三无小区环境"),
    Row("RX20261112012", T("2026-11-12 11:05"), "楼上空调外机往我家阳台滴水",
        "湖滨北巷6号楼上邻居的空调外机一直往我家阳台上滴水，晾的衣服都弄脏了，跟他说了好几次都"
        "不理。想请社区出面调解一下。",
        "湖滨北巷6号", "谢桂芳",
        expect="unclassified", scenario="002 邻里纠纷（无关键词命中，应进入人工分类）"),
    # Bad row: empty 工单编号.
    Row("", T("2026-11-12 11:30"), "桥西大街公厕无人打扫",
        "桥西大街中段公厕好几天没人打扫，臭味很大，洗手池也坏了。",
        "桥西大街中段公厕", "冯志坚", community="桥西社区",
        expect="bad", bad="工单编号为空，无法去重和追踪 / empty source reference"),
]

F8 = [  # 2026-11-16_城市放大镜.jsonl — ISO 8601 (+08:00, one in UTC "Z")
    Row("FDJ-2026-111501", T("2026-11-15 19:05"), "东湖路88号公交站附近路灯不亮",
        "东湖路88号公交站附近那一排路灯晚上都不亮，已经好几天了，附近居民说早就打过热线。",
        "东湖路88号公交站旁", "蒋立新", channel="城市放大镜", community="东湖社区",
        expect="roads", dup_of="RX20261111019", scenario="日常：路灯（疑似重复：4天后不同人反映）"),
    Row("FDJ-2026-111502", T("2026-11-15 20:30"), "石冲新村菜市场流浪狗越来越多",
        "石冲新村菜市场北边的流浪狗越来越多了，早上买菜的人都要绕着走，有摊主说被咬过一次。",
        "石冲新村菜市场北侧", "莫振宇", channel="城市放大镜", community="桥西社区",
        expect="animals",
        scenario="对照：与 RX20261102007 同地址同类别，但相隔13天，超出7天窗口，不算重复"),
    Row("FDJ-2026-111601", T("2026-11-16 07:45"), "石冲新村路口小超市出售过期食品",
        "石冲新村路口那家小超市货架上好几样饼干、牛奶都过了保质期还在卖，属于出售过期食品，"
        "来买东西的多是附近的老街坊和小孩。",
        "石冲新村路口", "苏文涛", channel="城市放大镜",
        expect="market", scenario="日常：食品安全"),
    Row("FDJ-2026-111602", T("2026-11-16 08:30"), "白石村自建房墙体开裂",
        "白石村17号一栋三层自建房墙体出现好几条裂缝，最宽的能塞进手指头。最近旁边工地在打桩，"
        "住户担心房子出问题，想请专业部门来鉴定一下是不是危房，存在安全隐患。",
        "白石村17号", "卢家宝", channel="城市放大镜", community="东湖社区",
        expect="building_safety", level="high", scenario="000 排查老旧危房"),
    Row("FDJ-2026-111603", T("2026-11-16 09:10"), "滨江路沿线电缆垂落过低",
        "滨江路沿线的电缆挂得很低，有一处垂到离地面两米左右，大货车经过时容易刮到，存在安全隐患。",
        "滨江路沿线", "陈晓东", channel="城市放大镜",
        expect="power", level="high", scenario="日常：线路隐患"),
    Row("FDJ-2026-111604", T("2026-11-16 09:40"), "桥西大街早市摊贩占道经营",
        "桥西大街早市的摊贩越摆越多，占道经营把整条街都占满了，早上七点到九点车根本过不去，"
        "上学的孩子只能从车缝里穿，严重影响出行。",
        "桥西大街早市", "严志远", channel="城市放大镜", community="桥西社区",
        expect="market", level="high", scenario="日常：占道经营", raw={"utc": True}),
    Row("FDJ-2026-111605", T("2026-11-16 10:15"), "渔港新村希望开设老年助餐点",
        "渔港新村住的老年人多，很多子女不在身边，中午一顿饭经常凑合。建议在社区开一个老年助餐点，"
        "价格实惠一点，行动不便的可以送餐上门。",
        "渔港新村活动中心", "唐慧", channel="城市放大镜", community="东湖社区",
        expect="elderly_care", scenario="002 需求清单（助餐）→ 认领清单"),
]

F9 = [  # 2026-11-18_网格平台.csv — plain UTF-8, 受理时间 "2026-11-18 10:05"
    Row("WG20261117031", T("2026-11-17 16:20"), "神女湖小学门口接送车辆乱停",
        "我校上学、放学时段，学校门口神女湖路上接送孩子的车辆乱停，堵得水泄不通，学生只能在车缝里"
        "穿行，严重影响出行。建议在附近划设临时停车区，并请交警高峰时段疏导。",
        "神女湖路神女湖小学门口", "唐慧", channel="共建单位提议", community="星光社区",
        expect="parking", level="high", scenario="001/002 共建单位提议"),
    Row("WG20261117033", T("2026-11-17 17:05"), "桥西大街118号居民楼私拉电线老化",
        "我所巡线发现，桥西大街118号老居民楼楼体外面的电线私拉乱接很严重，多处绝缘层老化开裂，"
        "一旦短路会影响片区供电，存在安全隐患，建议社区组织住户配合整改。",
        "桥西大街118号", "高明", channel="共建单位提议", grid="桥西第一网格",
        expect="power", level="high", scenario="001/002 共建单位提议（供电所）"),
    Row("WG20261118002", T("2026-11-18 08:15"), "老粮站宿舍化粪池堵塞",
        "老粮站宿舍的化粪池堵了，污水漫到院子里，进出都得踩着砖头走。这里没有物业，"
        "居民凑钱请人掏过一次，没过多久又堵了。",
        "老粮站宿舍院内", "梁小燕", channel="网格巡查", community="桥西社区", grid="桥西第一网格",
        expect="sanitation", scenario="002 三无小区环境"),
    Row("WG20261118004", T("2026-11-18 09:00"), "星光东巷沿街商铺未配灭火器",
        "星光东巷沿街的十几家小商铺大多没配灭火器，有两家还在店铺里间住人、做饭，属于“三合一”"
        "场所。已当面提醒，建议组织一次联合检查。",
        "星光东巷沿街商铺", "陈志强", channel="网格巡查", community="星光社区", cat="消防安全",
        expect="fire_safety", scenario="日常：消防检查"),
    Row("WG20261118005", T("2026-11-18 09:40"), "东湖路与湖滨北巷交叉口路面塌陷",
        "东湖路和湖滨北巷交叉口路面塌陷出一个坑，直径大概半米，已经放了锥桶，需要尽快修补。",
        "东湖路与湖滨北巷交叉口", "黄丽华", channel="网格巡查", grid="东湖第一网格", urg="一般",
        expect="roads", scenario="日常：路面"),
    Row("WG20261118007", T("2026-11-18 10:05"), "俊豪宽天下业主申请使用维修基金换水管",
        "走访时俊豪宽天下小区4栋业主反映，楼里的供水管老化，经常爆管，业主想申请用维修基金整体"
        "更换，物业说流程复杂、要三分之二业主签字，希望社区帮忙指导。",
        "俊豪宽天下小区4栋", "熊文静", channel="上门走访", community="星光社区",
        expect="property", scenario="002 居民需求清单"),
]

F10 = [  # 2026-11-20_12345热线.csv — GBK, 受理时间 "2026/11/20 09:15:00"
    Row("RX20261119022", T("2026-11-19 23:10"), "昌州路KTV整改后又开始吵",
        "昌州路那几家KTV前段时间整改后安静了一阵，这两天又开始吵了，有一家把隔音门敞着，唱到凌晨"
        "三点。这个问题之前已经多次反映，希望回头看一下整改到底落实了没有。",
        "昌州路126号三河汇碧小区7栋", "谭丽君", community="星光社区",
        expect="noise", level="high",
        scenario="002 回头看（同地址复发，距上次14天，超出7天窗口，不算重复）"),
    Row("RX20261120003", T("2026-11-20 08:02"), "白石村村口空地饲养家禽",
        "白石村有户人家在村口空地上围了个棚子饲养家禽，鸡鸭鹅一大群，天不亮就叫，满地粪便，味道"
        "很大，夏天苍蝇蚊子特别多。",
        "白石村村口空地", "甘永福", community="东湖社区",
        expect="animals", scenario="004 养鸡异味（相似场景）"),
    Row("RX20261120004", T("2026-11-20 08:26"), "光明路31号老围墙外鼓",
        "光明路31号后面一堵老围墙墙体往外鼓，昨晚下雨又掉了一大块墙皮，随时可能倒塌，墙根下就是"
        "小孩放学玩耍的地方，请马上派人来看！",
        "光明路31号", "黎志勇", community="桥西社区", urg="紧急",
        expect="building_safety", level="urgent", scenario="000 老旧危房排查（紧急）"),
    Row("RX20261120006", T("2026-11-20 08:55"), "上城嘉泰有可疑人员挨家推销",
        "上城嘉泰最近有可疑人员挨家挨户敲门，说是免费检测净水器，问家里几口人、白天有没有人在家。"
        "好几户门口被贴了小纸条，大家担心是踩点准备撬锁的。",
        "上城嘉泰小区", "潘志豪", community="桥西社区",
        expect="public_order", scenario="日常：治安防范"),
    Row("RX20261120007", T("2026-11-20 09:15"), "卧龙凼路32号门口井盖松动",
        "卧龙凼路32号门口的井盖松了，车一压就哐当一声，半夜也响，一晚上能被吵醒好几次，"
        "也担心哪天翻过来伤人。",
        "卧龙凼路32号", "段红英",
        expect="roads", scenario="日常：井盖"),
    Row("RX20261120009", T("2026-11-20 09:48"), "东湖花园上午突然停电没有通知",
        "东湖花园今天上午突然停电，到现在还没来，也没有看到任何通知。我家有病人要用制氧机，"
        "请问什么时候能恢复？以后计划停电能不能提前告知？",
        "东湖花园7栋", "侯佳慧", community="东湖社区",
        expect="power", scenario="日常：停电"),
    Row("RX20261120011", T("2026-11-20 10:30"), "星光路54号旁无照废品收购站",
        "星光路54号旁边新开了一个无照的废品收购站，纸板、旧家电一直堆到马路边上，每天早上收货"
        "叮叮当当，卫生也差。",
        "星光路54号旁", "严志远", community="星光社区",
        expect="market", scenario="日常：无照经营"),
]

# file name, rows, format, time style, encoding, extra
FILES: list[dict] = [
    {"name": "2026-11-02_12345热线.csv", "rows": F1, "fmt": "csv", "enc": "gbk", "time": "dash_sec"},
    {"name": "2026-11-03_网格平台.xlsx", "rows": F2, "fmt": "xlsx", "time": "slash_nopad"},
    {"name": "2026-11-04_城市放大镜.jsonl", "rows": F3, "fmt": "jsonl", "time": "iso", "broken": F3_BROKEN},
    {"name": "2026-11-06_12345热线.csv", "rows": F4, "fmt": "csv", "enc": "utf-8-sig", "time": "cn"},
    {"name": "2026-11-09_12345热线_重发.csv", "rows": list(reversed(F1)), "fmt": "csv", "enc": "gbk",
     "time": "dash_sec", "reexport_of": "2026-11-02_12345热线.csv"},
    {"name": "2026-11-10_网格平台.xlsx", "rows": F6, "fmt": "xlsx", "time": "dash_min"},
    {"name": "2026-11-12_12345热线.csv", "rows": F7, "fmt": "csv", "enc": "utf-8", "time": "slash_nopad"},
    {"name": "2026-11-16_城市放大镜.jsonl", "rows": F8, "fmt": "jsonl", "time": "iso"},
    {"name": "2026-11-18_网格平台.csv", "rows": F9, "fmt": "csv", "enc": "utf-8", "time": "dash_min"},
    {"name": "2026-11-20_12345热线.csv", "rows": F10, "fmt": "csv", "enc": "gbk", "time": "slash_sec"},
]
ENC_LABEL = {"gbk": "GBK", "utf-8-sig": "UTF-8 BOM", "utf-8": "UTF-8"}


def fmt_time(t: datetime, style: str, utc: bool = False) -> str:
    if style == "dash_sec":
        return t.strftime("%Y-%m-%d %H:%M:%S")
    if style == "slash_sec":
        return t.strftime("%Y/%m/%d %H:%M:%S")
    if style == "slash_nopad":
        return f"{t.year}/{t.month:02d}/{t.day:02d} {t.hour}:{t.minute:02d}"
    if style == "dash_min":
        return t.strftime("%Y-%m-%d %H:%M")
    if style == "cn":
        return f"{t.year}年{t.month}月{t.day}日 {t.hour:02d}:{t.minute:02d}"
    if style == "iso":
        if utc:
            return (t - timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return t.strftime("%Y-%m-%dT%H:%M:%S+08:00")
    raise ValueError(style)


def record(r: Row, style: str) -> dict[str, str]:
    rec = {
        "工单编号": r.ref, "受理时间": fmt_time(r.t, style, r.raw.get("utc", False)),
        "诉求标题": r.title, "诉求内容": r.content, "诉求类别": r.cat, "紧急程度": r.urg,
        "所属社区": r.community, "所属网格": r.grid, "事发地址": r.address, "反映人": r.reporter,
        "联系电话": phone(r.reporter), "来源渠道": r.channel,
    }
    rec.update({k: v for k, v in r.raw.items() if k in HEADERS})
    return rec


# ---------------------------------------------------------------------------------------------
# Writers (deterministic: same bytes on every run).
# ---------------------------------------------------------------------------------------------

def write_csv(path: Path, spec: dict) -> None:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=HEADERS, lineterminator="\r\n")
    w.writeheader()
    for r in spec["rows"]:
        w.writerow(record(r, spec["time"]))
    path.write_bytes(buf.getvalue().encode(spec["enc"]))   # strict: fails if not encodable


def write_jsonl(path: Path, spec: dict) -> None:
    lines = [json.dumps(record(r, spec["time"]), ensure_ascii=False) for r in spec["rows"]]
    for pos, text, *_ in sorted(spec.get("broken", [])):   # pos = final 0-based line index
        lines.insert(pos, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


FIXED_ZIP_TIME = (2026, 11, 1, 0, 0, 0)


def write_xlsx(path: Path, spec: dict) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "工单导出"
    ws.append(HEADERS)
    for c in ws[1]:
        c.font = Font(bold=True)
    for r in spec["rows"]:
        rec = record(r, spec["time"])
        values: list[object] = [rec[h] for h in HEADERS]
        if r.raw.get("cell") == "datetime" and "受理时间" not in r.raw:
            values[HEADERS.index("受理时间")] = r.t          # a real Excel datetime cell
        if r.raw.get("phone_int") and "联系电话" not in r.raw:
            values[HEADERS.index("联系电话")] = int(rec["联系电话"])   # number cell, as Excel does
        ws.append([v if v != "" else None for v in values])
        ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd hh:mm:ss"
    for col, width in zip("ABCDEFGHIJKL", [18, 20, 30, 60, 12, 8, 10, 12, 28, 8, 14, 12]):
        ws.column_dimensions[col].width = width
    stamp = datetime(2026, 11, 1)
    wb.properties.creator = "网格化服务管理平台"
    wb.properties.created = stamp
    raw = io.BytesIO()
    wb.save(raw)
    # openpyxl stamps "modified" with now() and the zip entries with the wall clock; pin both.
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                              rb"\g<1>2026-11-01T00:00:00Z\g<2>", data)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            zout.writestr(zi, data)
    path.write_bytes(out.getvalue())


WRITERS = {"csv": write_csv, "jsonl": write_jsonl, "xlsx": write_xlsx}


# ---------------------------------------------------------------------------------------------
# Checks against the roster (a naive stand-in for triage; the product's own triage may differ).
# ---------------------------------------------------------------------------------------------

def check(roster) -> list[str]:
    problems: list[str] = []
    cats = {c.id: c for c in roster.categories}
    cat_by_name = {c.name: c.id for c in roster.categories}
    comm_by_name = {c.name: c for c in roster.communities}
    prefixes = [(p, c, g) for c in roster.communities for g in c.grids for p in g.addresses]
    oos_words = [k for rule in roster.triage.out_of_scope for k in rule.keywords]
    kinds_by_comm = {}
    for u in roster.units:
        for c in u.communities:
            kinds_by_comm.setdefault(c, []).append(u.kind)
    # Every kind a rule names resolves to exactly one unit in each community it applies to.
    for i, rule in enumerate(roster.routing_rules):
        comms = [c.id for c in roster.communities] if rule.community == "*" else [rule.community]
        for target in [rule.lead, *rule.support]:
            for c in comms:
                if target.startswith("kind:"):
                    n = kinds_by_comm.get(c, []).count(target[5:])
                    if n != 1:
                        problems.append(f"rule {i} {target} resolves to {n} units in {c}")
                elif c not in roster.unit(target).communities:
                    problems.append(f"rule {i} {target} does not serve {c}")

    def grid_of(addr: str):
        hits = [(p, c, g) for p, c, g in prefixes if addr.startswith(p)]
        return hits

    seen_refs: dict[str, str] = {}
    valid: list[Row] = []
    for spec in FILES:
        if spec.get("reexport_of"):
            continue
        for r in spec["rows"]:
            where = f"{spec['name']}:{r.ref or '(empty ref)'}"
            if r.ref:
                if r.ref in seen_refs:
                    problems.append(f"{where}: 工单编号 repeats {seen_refs[r.ref]}")
                seen_refs[r.ref] = spec["name"]
            text = r.title + r.content
            if r.expect == "bad":
                if not r.bad:
                    problems.append(f"{where}: bad row without a reason")
                continue
            valid.append(r)
            hits = grid_of(r.address)
            if len(hits) != 1:
                problems.append(f"{where}: address {r.address!r} matches {len(hits)} grids")
            else:
                _, comm, grid = hits[0]
                if r.community and r.community != comm.name:
                    problems.append(f"{where}: 所属社区 {r.community} but address is in {comm.name}")
                if r.grid and r.grid != grid.name:
                    problems.append(f"{where}: 所属网格 {r.grid} but address is in {grid.name}")
            if r.community and r.community not in comm_by_name:
                problems.append(f"{where}: unknown community {r.community}")
            if not re.fullmatch(r"1[358]\d{9}", phone(r.reporter)):
                problems.append(f"{where}: bad phone")
            if r.cat and cat_by_name.get(r.cat) != r.expect:
                problems.append(f"{where}: 诉求类别 {r.cat} does not name {r.expect}")
            is_oos = any(k in text for k in oos_words)
            if is_oos != (r.expect == "out_of_scope"):
                problems.append(f"{where}: out-of-scope keywords {'hit' if is_oos else 'missed'}")
            scores = {cid: (sum(text.count(k) for k in c.keywords), sum(k in text for k in c.keywords))
                      for cid, c in cats.items()}
            best = [cid for cid, s in scores.items() if s[0] > 0]
            if r.expect == "unclassified":
                if best:
                    problems.append(f"{where}: expected no category, hits {best}")
            elif r.expect != "out_of_scope":
                mine = scores[r.expect]
                rivals = {cid: s for cid, s in scores.items() if cid != r.expect and s[0] > 0}
                if mine[0] == 0 or any(s[0] >= mine[0] or s[1] >= mine[1] for s in rivals.values()):
                    problems.append(f"{where}: {r.expect} {mine} not a clear winner over {rivals}")
            level = ("urgent" if r.urg == "紧急" or any(k in text for k in roster.triage.urgent_keywords)
                     else "high" if any(k in text for k in roster.triage.high_keywords) else "normal")
            if r.expect != "out_of_scope" and level != r.level:
                problems.append(f"{where}: urgency {level}, expected {r.level}")
    # Duplicates: same address and category within the window, first report wins.
    window = timedelta(days=roster.triage.duplicate_window_days)
    routed = sorted((r for r in valid if r.expect not in ("out_of_scope", "unclassified")), key=lambda r: r.t)
    found: dict[str, str] = {}
    for i, r in enumerate(routed):
        for earlier in routed[:i]:
            if (earlier.address, earlier.expect) == (r.address, r.expect) and r.t - earlier.t <= window \
                    and earlier.ref not in found:
                found[r.ref] = earlier.ref
                break
    expected = {r.ref: r.dup_of for r in valid if r.dup_of}
    if found != expected:
        problems.append(f"duplicates found {found} != expected {expected}")
    return problems


# ---------------------------------------------------------------------------------------------
# expected_triage.csv and README.md
# ---------------------------------------------------------------------------------------------

def all_rows() -> list[tuple[str, Row | None, tuple | None]]:
    out = []
    for spec in FILES:
        if spec.get("reexport_of"):
            continue
        for r in spec["rows"]:
            out.append((spec["name"], r, None))
        for b in spec.get("broken", []):
            out.append((spec["name"], None, b))
    return out


def write_expected(roster) -> None:
    comm_of = {}
    for c in roster.communities:
        for g in c.grids:
            for p in g.addresses:
                comm_of[p] = (c.id, g.id)
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["file", "工单编号", "expect", "urgency", "community", "grid", "duplicate_of",
                "bad_reason", "scenario"])
    for name, r, b in all_rows():
        if b:
            w.writerow([name, b[2], "bad", "", "", "", "", b[3], ""])
            continue
        cg = next((v for p, v in comm_of.items() if r.address.startswith(p)), ("", ""))
        if r.expect == "bad":
            cg = ("", "")
        w.writerow([name, r.ref, r.expect, "" if r.expect in ("bad", "out_of_scope") else r.level,
                    cg[0], cg[1], r.dup_of, r.bad, r.scenario])
    (DEMO / "expected_triage.csv").write_text(buf.getvalue(), encoding="utf-8")


def counts(spec: dict) -> dict[str, int]:
    rows = spec["rows"]
    ok = [r for r in rows if r.expect != "bad"]
    return {
        "rows": len(rows) + len(spec.get("broken", [])),
        "valid": len(ok),
        "bad": len(rows) - len(ok) + len(spec.get("broken", [])),
        "dup": sum(1 for r in ok if r.dup_of),
        "oos": sum(1 for r in ok if r.expect == "out_of_scope"),
    }


def write_readme() -> None:
    fmt_label = {"csv": "CSV", "xlsx": "XLSX", "jsonl": "JSON Lines"}
    L = []
    L.append("# 演示数据 / Demo data\n")
    L.append("虚构的临江市城西区中山路街道三个社区（星光、东湖、桥西）的\"大党委\"花名册，以及 2026 年 11 月"
             "约三周的诉求导出文件，模拟 12345 热线、网格平台、城市放大镜的导出。人名、电话、地址全部虚构。\n")
    L.append("A fictional street office with three community joint committees, and three weeks of "
             "November 2026 case exports as a hotline, a grid platform and the \"city magnifier\" app "
             "would produce them. Every person, phone number and address is invented.\n")
    L.append("## 文件 / Files\n")
    L.append("| 文件 file | 说明 what it is |\n|---|---|")
    L.append("| `roster.yaml` | 花名册：3 个社区、8 个网格、15 个共建单位、14 个诉求类别、派单/分诊/时限规则；"
             "`elderly_care` 故意没有派单规则（进认领清单），桥西社区有两条覆盖 `*` 的规则。"
             " The roster; `elderly_care` deliberately has no routing rule (claim list); qiaoxi overrides "
             "`building_safety` and `parking`. |")
    L.append("| `cases/*` | 导出文件，文件名以到达日期开头 / exports, named by arrival date |")
    L.append("| `expected_triage.csv` | 每条记录的预期结果（类别、紧急程度、社区、网格、疑似重复、隔离原因、对应场景）"
             " / what the product should make of every row |")
    L.append("| `make_demo_cases.py` | 生成以上文件并对照花名册自检；重复运行输出逐字节相同 / regenerates all "
             "of the above and self-checks against the roster; byte-identical on rerun |\n")
    L.append("| 文件 file | 格式 format | 编码 encoding | 受理时间格式 time format | 行 rows | 有效 valid "
             "| 坏行 bad | 疑似重复 dup | 范围外 out of scope |\n|---|---|---|---|---|---|---|---|---|")
    tot = dict(rows=0, valid=0, bad=0, dup=0, oos=0)
    for spec in FILES:
        c = counts(spec)
        enc = ENC_LABEL.get(spec.get("enc", ""), "UTF-8" if spec["fmt"] == "jsonl" else "—")
        sample = next(r for r in spec["rows"] if r.expect != "bad" and not r.raw.get("utc"))
        tl = fmt_time(sample.t, spec["time"])
        if spec["fmt"] == "xlsx":
            tl = f"Excel 日期单元格 + 文本 `{tl}`"
        elif spec["name"] == "2026-11-16_城市放大镜.jsonl":
            tl = f"`{tl}`（一行为 UTC `Z`）"
        else:
            tl = f"`{tl}`"
        if spec.get("reexport_of"):
            L.append(f"| `{spec['name']}` | CSV | {enc} | {tl} | {c['rows']} | 0 新增 new | "
                     f"（重复 {c['bad']} 个坏行） | — | — |")
            continue
        for k in tot:
            tot[k] += c[k]
        L.append(f"| `{spec['name']}` | {fmt_label[spec['fmt']]} | {enc} | {tl} | {c['rows']} | {c['valid']} "
                 f"| {c['bad']} | {c['dup']} | {c['oos']} |")
    L.append(f"| **合计 total**（不含重发 excluding the re-export） | | | | {tot['rows']} | {tot['valid']} "
             f"| {tot['bad']} | {tot['dup']} | {tot['oos']} |\n")
    L.append("说明 / notes:\n")
    L.append("- `2026-11-09_12345热线_重发.csv` 是 11-02 热线文件的重新导出：行完全相同（同一工单编号），"
             "只是顺序倒过来。再次拉取应新增 0 条诉求、不重复隔离。 It repeats the 11-02 hotline rows "
             "exactly (same 工单编号), in reverse order, so a file-hash shortcut will not catch it: "
             "a re-pull must add nothing and must not quarantine the two bad rows a second time.")
    L.append("- XLSX 中部分\"受理时间\"是真正的 Excel 日期单元格，其余是文本；部分\"联系电话\"是数字单元格"
             "（Excel 常见做法）。 Some XLSX times are real date cells, others text; some phones are number cells.")
    L.append("- `RX20261106012` 的诉求内容含换行（CSV 带引号的多行字段）。 Its content spans several lines (a quoted CSV field).")
    L.append("- 诉求类别给出时使用花名册中的中文类别名。 When 诉求类别 is given it is the roster's Chinese category name.\n")
    L.append("## 坏行（应进入隔离区） / Bad rows (expect them in quarantine)\n")
    L.append("| 文件 file | 工单编号 | 原因 reason |\n|---|---|---|")
    for name, r, b in all_rows():
        if b:
            L.append(f"| `{name}` | {b[2]}（第 {b[0] + 1} 行 line {b[0] + 1}） | {b[3]} |")
        elif r.expect == "bad":
            L.append(f"| `{name}` | {r.ref or '（空 empty）'} | {r.bad} |")
    L.append("")
    L.append("## 需要注意的有效行 / Valid rows to watch\n")
    L.append("| 工单编号 | 预期 expected | 说明 note |\n|---|---|---|")
    for name, r, b in all_rows():
        if b or r.expect == "bad":
            continue
        note = ""
        if r.dup_of:
            note = f"疑似重复，同地址同类别，早前为 {r.dup_of} / likely duplicate of {r.dup_of}"
        elif r.expect == "out_of_scope":
            note = "范围外，不派单，附理由 / out of scope, returned with the roster's reason"
        elif r.expect == "unclassified":
            note = "无关键词命中，需人工分类 / no keyword hits: needs a human to classify"
        elif r.expect == "elderly_care":
            note = "养老助老无派单规则 → 认领清单 / no routing rule → claim list"
        elif r.level == "urgent":
            note = "紧急 urgent（关键词或“紧急程度=紧急”）"
        elif "不算重复" in r.scenario:
            note = "对照：同地址同类别但超出 7 天窗口，不是重复 / control: same address, outside the 7-day window"
        if note:
            level = "—" if r.expect == "out_of_scope" else r.level
            L.append(f"| {r.ref} | {r.expect} / {level} | {note} |")
    L.append("")
    L.append("## 种子文章场景 / Seed scenarios\n")
    L.append("| 场景 scenario（文章 article） | 工单编号 | 预期派单 expected routing |\n|---|---|---|")
    L.append("| 建筑垃圾堵路 construction waste blocking a lane (000) | RX20261102003, FDJ-2026-110301（重复 dup）"
             ", WG20261109024, RX20261112008 | 城管中队牵头，住建局配合 |")
    L.append("| 应急管理局提出外墙脱落 the emergency bureau raises a falling facade (000) | WG20261102033, "
             "RX20261120004 | 桥西覆盖规则：应急管理局牵头，住建局、街道配合 |")
    L.append("| 三无小区老树威胁电线 old trees over power lines in a \"three-no\" estate (002) | WG20261102031 "
             "| 园林绿化所牵头，供电所配合 |")
    L.append("| 十多家歌厅夜间噪声 karaoke bars loud at night (002) | RX20261101017, RX20261105021（重复 dup）, "
             "RX20261119022（回头看后复发 recurrence after the look-back） | 派出所牵头，生态环境分局配合，限时10个工作日 |")
    L.append("| 老人养鸡、异味招蟑螂 an elderly man keeps chickens (004) | WG20261102036, RX20261120003 | 街道办牵头，卫生服务中心配合 |")
    L.append("| 独居老人助餐 solitary elderly needing meals (002/004) | WG20261103009, RX20261106009, FDJ-2026-111605 "
             "| 无规则 → 认领清单 |")
    L.append("| 共建单位提议 member-unit proposals (000/001) | WG20261102033, WG20261117031, WG20261117033 | 按类别 |")
    L.append("| 停车难、漏水、楼院管理 parking, leaks, estate management (002) | WG20261103007, RX20261102012, "
             "WG20261103004, RX20261106005, … | 物业/城管（桥西停车：滨港物业牵头） |\n")
    L.append("完整的逐行预期见 `expected_triage.csv`。 Every row's expected outcome is in `expected_triage.csv`.")
    (DEMO / "README.md").write_text("\n".join(L) + "\n", encoding="utf-8")


def main() -> int:
    roster = load_roster(DEMO / "roster.yaml")
    problems = check(roster)
    if problems:
        print("demo data does not match the roster:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    CASES.mkdir(exist_ok=True)
    names = {spec["name"] for spec in FILES}
    for stale in CASES.iterdir():
        if stale.is_file() and stale.suffix in (".csv", ".xlsx", ".jsonl") and stale.name not in names:
            stale.unlink()
            print(f"removed stale {stale.name}")
    for spec in FILES:
        WRITERS[spec["fmt"]](CASES / spec["name"], spec)
    write_expected(roster)
    write_readme()
    for spec in FILES:
        c = counts(spec)
        extra = f"  (re-export of {spec['reexport_of']})" if spec.get("reexport_of") else ""
        print(f"{spec['name']:<34} rows={c['rows']:>2} valid={c['valid']:>2} bad={c['bad']} "
              f"dup={c['dup']} oos={c['oos']}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
