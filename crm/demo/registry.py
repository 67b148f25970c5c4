"""Demo registry data: Ningxia's regions and parks, enterprises with contacts, annual figures and IP.

Everything is first built in memory from a fixed seed (`build_enterprises`), then written
where missing (`load_regions`, `load_enterprises`): the same rows on every run, and a second
run finds them all and writes nothing. Enterprise i is drawn from its own random stream, so
`--count 40` builds exactly the first 40 enterprises of the default 300.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, select, update

from crm.core.uscc import ALPHABET as USCC_ALPHABET
from crm.core.uscc import check_digit
from crm.enterprises.models import (
    CLASS_I_KINDS,
    AnnualFigures,
    Contact,
    Enterprise,
    EnterpriseStatus,
    FigureSource,
    IntellectualProperty,
    IPKind,
    Region,
    RegionLevel,
    TechDomain,
)

SEED = "miaopu-demo-2026"
LAST_YEAR = 2025  # the latest complete accounting year
DATA_DATE = date(2025, 12, 31)  # nothing in the demo data happens after this day
FLUSH_EVERY = 100  # enterprises per flush: bounded memory, few round trips


@dataclass
class Tally:
    """How many rows of one kind a load created, found already there, and completed where a value was missing."""

    created: int = 0
    existing: int = 0
    updated: int = 0


# --- regions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionSpec:
    """A region of the demo tree; `weight` is its share of the enterprises (0: none)."""

    code: str
    name: str
    level: str
    parent: str | None
    weight: int = 0
    streets: tuple[str, ...] = ()


_P, _C, _X, _K = RegionLevel.PROVINCE, RegionLevel.CITY, RegionLevel.COUNTY, RegionLevel.PARK

# GB/T 2260 codes of Ningxia; parks carry a local code "<city>P<n>". Listed parents first.
REGIONS: tuple[RegionSpec, ...] = (
    RegionSpec("640000", "宁夏回族自治区", _P, None),
    RegionSpec("640100", "银川市", _C, "640000"),
    RegionSpec("640200", "石嘴山市", _C, "640000"),
    RegionSpec("640300", "吴忠市", _C, "640000"),
    RegionSpec("640400", "固原市", _C, "640000"),
    RegionSpec("640500", "中卫市", _C, "640000"),
    # 银川: the capital holds about half of the enterprises
    RegionSpec("640104", "兴庆区", _X, "640100", 28, ("解放东街", "新华东街", "文化东街", "清和北街", "丽景北街")),
    RegionSpec("640105", "西夏区", _X, "640100", 20, ("怀远西路", "北京西路", "同心南街", "文萃北街", "朔方路")),
    RegionSpec("640106", "金凤区", _X, "640100", 32,
               ("阅海湾中央商务区万寿路", "北京中路", "亲水北大街", "宁安大街", "正源北街")),
    RegionSpec("640121", "永宁县", _X, "640100", 7, ("杨和镇宁和南街", "望远镇工业园区创业路", "闽宁镇福宁路")),
    RegionSpec("640122", "贺兰县", _X, "640100", 9, ("习岗镇银河西路", "德胜工业园区德胜路", "暖泉工业园区兴业路")),
    RegionSpec("640181", "灵武市", _X, "640100", 7, ("东塔镇灵州大道", "城区新华街", "临河镇工业路")),
    # 石嘴山
    RegionSpec("640202", "大武口区", _X, "640200", 11, ("朝阳东街", "世纪大道", "游艺西街")),
    RegionSpec("640205", "惠农区", _X, "640200", 6, ("南大街", "河滨工业园区长胜路", "北大街")),
    RegionSpec("640221", "平罗县", _X, "640200", 6, ("城关镇鼓楼南街", "太沙工业园区纬一路", "唐徕大道")),
    # 吴忠
    RegionSpec("640302", "利通区", _X, "640300", 11, ("裕民西街", "明珠西路", "利宁街")),
    RegionSpec("640303", "红寺堡区", _X, "640300", 3, ("新庄集乡罗山路", "红寺堡镇朝阳街")),
    RegionSpec("640323", "盐池县", _X, "640300", 4, ("花马池镇盐州路", "花马池镇长城街")),
    RegionSpec("640324", "同心县", _X, "640300", 3, ("豫海镇文化街", "豫海镇新区东路")),
    RegionSpec("640381", "青铜峡市", _X, "640300", 7, ("小坝镇汉渠路", "青铜峡工业园区新材料路")),
    # 固原
    RegionSpec("640402", "原州区", _X, "640400", 7, ("文化街", "六盘山东路", "政府街")),
    RegionSpec("640422", "西吉县", _X, "640400", 2, ("吉强镇兴平路",)),
    RegionSpec("640423", "隆德县", _X, "640400", 2, ("城关镇六盘山路",)),
    RegionSpec("640424", "泾源县", _X, "640400", 1, ("香水镇香水街",)),
    RegionSpec("640425", "彭阳县", _X, "640400", 2, ("白阳镇朝阳街",)),
    # 中卫
    RegionSpec("640502", "沙坡头区", _X, "640500", 9, ("鼓楼东街", "应理南街", "迎水桥镇云基地大道")),
    RegionSpec("640521", "中宁县", _X, "640500", 8, ("宁安镇枸杞大道", "宁安镇新堡路", "石空镇工业路")),
    RegionSpec("640522", "海原县", _X, "640500", 2, ("海城镇新区路",)),
    # parks, each under the county it lies in
    RegionSpec("6401P1", "银川经济技术开发区", _K, "640105", 18, ("宝湖西路", "开元东路", "光明东路")),
    RegionSpec("6401P2", "银川iBi育成中心", _K, "640106", 12, ("创业街", "亲水北大街")),
    RegionSpec("6401P3", "宁东能源化工基地", _K, "640181", 9, ("宁东镇长城路", "煤化工园区纬二路", "宁东镇鸳鸯湖路")),
    RegionSpec("6402P1", "石嘴山高新技术产业开发区", _K, "640202", 9, ("科技路", "新材料大道")),
    RegionSpec("6403P1", "吴忠金积工业园区", _K, "640302", 6, ("金积大道", "滨河路")),
    RegionSpec("6404P1", "固原经济技术开发区", _K, "640402", 4, ("清河路", "经一路")),
    RegionSpec("6405P1", "中卫工业园区", _K, "640502", 7, ("西部云基地云创路", "纬三路")),
)
REGION_BY_CODE = {spec.code: spec for spec in REGIONS}
# Where a county or district's name may start an enterprise name (not the urban districts).
PLACE_PREFIXES = {
    "640121": "永宁", "640122": "贺兰", "640181": "灵武", "640221": "平罗", "640323": "盐池",
    "640324": "同心", "640381": "青铜峡", "640422": "西吉", "640423": "隆德", "640424": "泾源",
    "640425": "彭阳", "640521": "中宁", "640522": "海原",
}
CITY_PREFIXES = {"640100": "银川", "640200": "石嘴山", "640300": "吴忠", "640400": "固原", "640500": "中卫"}
SHOWCASE_REGION = "640106"  # 金凤区: enterprise 0 is placed here for the enterprise demo account
SHOWCASE_RD_RATIO = 0.0495  # its R&D ÷ revenue: a 高企 candidate a little short of the 5 % it needs


def county_of(code: str) -> RegionSpec:
    """The county a region belongs to (a park's parent county, a county itself)."""
    spec = REGION_BY_CODE[code]
    return REGION_BY_CODE[spec.parent] if spec.level == RegionLevel.PARK else spec


def load_regions(session, tally: Tally) -> dict[str, Region]:
    """Create the demo regions that are missing; return every demo region by code."""
    codes = [spec.code for spec in REGIONS]
    regions = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
    for spec in REGIONS:
        if spec.code in regions:
            tally.existing += 1
            continue
        parent = regions[spec.parent] if spec.parent else None
        region = Region(code=spec.code, name=spec.name, level=spec.level,
                        parent_id=parent.id if parent else None)
        session.add(region)
        session.flush()  # the path is made of ids, so the id is needed first
        region.path = f"{parent.path if parent else '/'}{region.id}/"
        regions[spec.code] = region
        tally.created += 1
    session.flush()
    return regions


# --- industries ---------------------------------------------------------------------------

_EI, _BIO, _AERO, _MAT = (TechDomain.ELECTRONIC_INFORMATION, TechDomain.BIOMEDICINE, TechDomain.AEROSPACE,
                          TechDomain.NEW_MATERIALS)
_SVC, _NE, _ENV, _MFG = (TechDomain.HIGHTECH_SERVICES, TechDomain.NEW_ENERGY, TechDomain.RESOURCES_ENVIRONMENT,
                         TechDomain.ADVANCED_MANUFACTURING)
_INV, _UM, _DES, _SW, _PV = (IPKind.INVENTION_PATENT, IPKind.UTILITY_MODEL, IPKind.DESIGN_PATENT,
                             IPKind.SOFTWARE_COPYRIGHT, IPKind.PLANT_VARIETY)

# Economic profiles: revenue per employee (万元), tech-staff share, R&D ratio, high-tech share.
MANUFACTURING = {"productivity": (60, 150), "tech_ratio": (0.10, 0.30), "rd_ratio": (0.025, 0.065),
                 "hightech_share": (0.55, 0.92)}
MATERIALS = {"productivity": (120, 320), "tech_ratio": (0.08, 0.25), "rd_ratio": (0.02, 0.05),
             "hightech_share": (0.50, 0.90)}
SOFTWARE = {"productivity": (20, 55), "tech_ratio": (0.30, 0.45), "rd_ratio": (0.05, 0.09),
            "hightech_share": (0.70, 0.95)}
SERVICES = {"productivity": (25, 70), "tech_ratio": (0.25, 0.45), "rd_ratio": (0.035, 0.08),
            "hightech_share": (0.60, 0.95)}
BIO = {"productivity": (50, 140), "tech_ratio": (0.15, 0.40), "rd_ratio": (0.04, 0.09),
       "hightech_share": (0.60, 0.95)}
AGRIFOOD = {"productivity": (40, 120), "tech_ratio": (0.08, 0.20), "rd_ratio": (0.015, 0.04),
            "hightech_share": (0.40, 0.75)}
POWER = {"productivity": (300, 900), "tech_ratio": (0.15, 0.35), "rd_ratio": (0.015, 0.035),
         "hightech_share": (0.40, 0.80)}

# Relative weights of IP kinds by sector.
MIX_EQUIPMENT = {_INV: 2, _UM: 7, _DES: 1, _SW: 1}
MIX_MATERIALS = {_INV: 4, _UM: 6, _DES: 0.5, _SW: 0.5}
MIX_SOFTWARE = {_INV: 1, _UM: 1, _DES: 0.3, _SW: 12}
MIX_BIO = {_INV: 4, _UM: 4, _DES: 1, _SW: 1}
MIX_FOOD = {_INV: 2, _UM: 5, _DES: 4, _SW: 1}
MIX_AGRI = {_INV: 2, _UM: 4, _PV: 2, _DES: 0.5, _SW: 1}
MIX_SERVICES = {_INV: 2, _UM: 4, _SW: 6}


@dataclass(frozen=True)
class Industry:
    """A line of business: GB/T 4754 class, name words, domains, economics and IP vocabulary."""

    code: str
    words: tuple[str, ...]  # the business part of an enterprise name
    domains: tuple[str | None, ...]  # drawn uniformly: repeat a domain to weight it
    weight: int
    economics: dict
    ip_mix: dict
    things: tuple[str, ...]  # what the patents are about
    methods: tuple[str, ...]  # invention title endings: 一种<thing><method>
    parts: tuple[str, ...]  # utility model title endings: 一种<thing><part>
    designs: tuple[str, ...] = ()
    software: tuple[str, ...] = ()
    varieties: tuple[str, ...] = ()  # plant variety names, "{n}" numbered
    homes: tuple[str, ...] = ()  # regions where this industry clusters


INDUSTRIES: tuple[Industry, ...] = (
    Industry("C3511", ("矿山装备", "煤机装备", "矿业机械"), (_MFG,) * 5 + (None,), 5, MANUFACTURING, MIX_EQUIPMENT,
             ("刮板输送机", "液压支架", "采煤机截割部", "带式输送机", "矿用破碎机", "中部槽"),
             ("的故障诊断方法", "的智能调速控制方法", "耐磨层的堆焊工艺", "的寿命预测方法及系统"),
             ("用链轮组件", "的快速连接结构", "用冷却装置", "的防尘密封装置", "用在线监测装置"),
             ("矿用控制箱", "操作台", "防爆监控箱"),
             ("智能矿山设备远程监控平台", "刮板输送机运行状态监测系统", "煤机装备全生命周期管理系统"),
             homes=("640202", "640205", "6402P1")),
    Industry("C3421", ("数控机床", "精密机械", "机床"), (_MFG,), 4, MANUFACTURING, MIX_EQUIPMENT,
             ("数控车床", "立式加工中心", "主轴单元", "刀库机械手", "数控转台"),
             ("的热误差补偿方法", "的精度检测方法", "主轴的动平衡校正方法", "的智能排产方法及系统"),
             ("用防护罩", "的排屑装置", "用刀具快速夹紧机构", "的导轨润滑装置", "用对刀装置"),
             ("数控机床", "机床防护罩", "操作面板"),
             ("数控机床远程运维平台", "加工中心刀具寿命管理系统", "数控系统参数配置软件"),
             homes=("6401P1", "640105")),
    Industry("C3491", ("智能装备", "机器人", "自动化"), (_MFG,), 4, MANUFACTURING, MIX_EQUIPMENT,
             ("焊接机器人", "码垛机器人", "巡检机器人", "协作机械臂", "AGV搬运车"),
             ("的路径规划方法", "的视觉定位方法", "的力控打磨方法", "的多机协同调度方法"),
             ("用末端夹持器", "的关节减速结构", "用防碰撞装置", "的快换工具盘", "用充电装置"),
             ("巡检机器人", "机器人控制柜", "示教器"),
             ("工业机器人离线编程系统", "巡检机器人调度管理平台", "机器人视觉识别软件"),
             homes=("6401P1", "640106")),
    Industry("C3451", ("轴承", "精密传动"), (_MFG,) * 3 + (None,), 2, MANUFACTURING, MIX_EQUIPMENT,
             ("圆锥滚子轴承", "调心滚子轴承", "深沟球轴承", "铁路货车轴承", "风电主轴轴承"),
             ("的热处理工艺", "的游隙检测方法", "保持架的制备方法", "的振动检测方法"),
             ("用密封圈", "的保持架结构", "用润滑装置", "的装配工装", "用检测夹具"),
             ("轴承包装盒", "轴承座"),
             ("轴承生产过程质量追溯系统", "轴承振动分析软件"),
             homes=("640104", "6401P1")),
    Industry("C4011", ("仪器仪表", "自动化控制", "智能仪表"), (_MFG, _MFG, _EI), 4, MANUFACTURING, MIX_EQUIPMENT,
             ("智能电磁流量计", "温度变送器", "PLC控制柜", "气体分析仪", "智能电表"),
             ("的自校准方法", "的数据采集方法", "的故障自诊断方法"),
             ("用防爆外壳", "的接线端子结构", "用散热装置", "的安装支架"),
             ("流量计", "控制柜", "仪表面板"),
             ("工业自动化组态软件", "智能仪表数据采集系统", "DCS远程监控平台")),
    Industry("C3983", ("传感技术", "电子科技", "物联科技"), (_EI,), 3, MANUFACTURING, MIX_EQUIPMENT,
             ("压力传感器", "温湿度传感器", "气体传感器", "振动传感器", "土壤墒情传感器"),
             ("的温度补偿方法", "敏感膜的制备方法", "的信号处理方法"),
             ("用封装结构", "的防水外壳", "用安装底座"),
             ("传感器", "数据采集终端"),
             ("传感器数据管理平台", "物联网感知终端配置软件")),
    Industry("C3985", ("新材料", "电子材料", "硅材料", "半导体材料"), (_MAT,), 4, MATERIALS, MIX_MATERIALS,
             ("单晶硅棒", "硅片", "电子级多晶硅", "高纯石英坩埚", "蓝宝石衬底"),
             ("的拉制方法", "的切割工艺", "的清洗方法", "的掺杂控制方法"),
             ("用导流筒", "的热场保温结构", "用籽晶夹头", "的冷却水套"),
             ("石英坩埚", "硅片包装箱"),
             ("单晶炉生产数据管理系统", "硅片质量检测分析软件"),
             homes=("640106", "640521", "6401P1")),
    Industry("C3239", ("稀有金属", "钽铌材料", "新材料"), (_MAT,), 2, MATERIALS, MIX_MATERIALS,
             ("钽粉", "铌合金", "铍铜合金", "钽丝", "高纯铌"),
             ("的制备方法", "的提纯工艺", "的真空烧结方法", "的表面处理方法"),
             ("用坩埚", "的冷却装置", "用筛分装置", "的真空密封结构"),
             software=("稀有金属冶炼过程控制系统",),
             homes=("640202", "6402P1")),
    Industry("C3091", ("碳素", "炭材料", "碳基材料"), (_MAT,) * 3 + (None,), 3, MATERIALS, MIX_MATERIALS,
             ("活性炭", "石墨电极", "碳纤维预制体", "等静压石墨", "针状焦"),
             ("的制备方法", "的活化工艺", "的浸渍方法", "的石墨化方法"),
             ("用焙烧炉", "的输送装置", "用除尘装置", "的成型模具"),
             ("活性炭包装袋",),
             ("碳素生产能耗管理系统",),
             homes=("640202", "640205", "640221", "6402P1")),
    Industry("C2662", ("化工", "精细化工", "化学"), (_MAT, _MAT, _MAT, _ENV, None), 5, MATERIALS, MIX_MATERIALS,
             ("聚丙烯酰胺", "水处理剂", "催化剂", "煤基特种蜡", "电子级化学品"),
             ("的合成方法", "的制备方法", "的提纯工艺", "的连续化生产工艺"),
             ("用反应釜", "的搅拌装置", "用尾气吸收装置", "的过滤器"),
             ("包装桶",),
             ("化工生产安全监测系统", "DCS工艺参数优化软件"),
             homes=("6401P3", "640181", "640221")),
    Industry("C2523", ("煤化工", "能源化工"), (_ENV, _MAT, None, None), 2, MATERIALS, MIX_MATERIALS,
             ("煤制油", "费托合成蜡", "煤气化炉", "合成气", "煤焦油"),
             ("的分离方法", "的加氢精制工艺", "的废水处理方法"),
             ("用烧嘴", "的换热装置", "用取样装置"),
             software=("煤化工装置运行优化系统",),
             homes=("6401P3",)),
    Industry("C2761", ("生物科技", "生物制药", "生物工程"), (_BIO,), 3, BIO, MIX_BIO,
             ("重组蛋白", "发酵液", "酶制剂", "益生菌制剂", "单克隆抗体"),
             ("的纯化方法", "的发酵工艺", "的冻干工艺", "的制备方法"),
             ("用发酵罐", "的无菌取样装置", "用过滤装置"),
             ("药品包装盒",),
             ("GMP生产质量管理系统", "发酵过程监控软件"),
             homes=("6401P1", "640106")),
    Industry("C2710", ("药业", "制药"), (_BIO,), 3, BIO, MIX_BIO,
             ("盐酸四环素", "维生素B12", "辅酶Q10", "头孢类中间体", "阿莫西林"),
             ("的结晶方法", "的合成工艺", "的母液回收方法", "的精制方法"),
             ("用结晶罐", "的离心分离装置", "用干燥装置"),
             ("药品包装盒",),
             ("原料药生产批记录管理系统",),
             homes=("6401P1", "6403P1")),
    Industry("C2740", ("中药", "药业", "本草"), (_BIO,), 3, BIO, MIX_BIO,
             ("黄芪", "甘草", "柴胡", "中药配方颗粒", "枸杞子"),
             ("的提取方法", "的炮制工艺", "的指纹图谱检测方法"),
             ("用切片装置", "的干燥设备", "用筛选装置"),
             ("药品包装盒", "饮片包装袋"),
             ("中药材溯源管理系统",),
             homes=("640402", "640423", "640424", "6404P1")),
    Industry("C3581", ("医疗器械", "医疗科技"), (_BIO,), 2, BIO, MIX_EQUIPMENT,
             ("血液透析机", "输液泵", "康复训练器", "医用监护仪", "超声探头"),
             ("的控制方法", "的报警方法", "的消毒方法"),
             ("用固定支架", "的防回流结构", "用消毒装置"),
             ("监护仪", "康复训练器"),
             ("医疗设备远程运维平台", "康复训练管理系统")),
    Industry("I6513", ("软件技术", "信息技术", "网络科技", "数字科技"), (_EI,), 10, SOFTWARE, MIX_SOFTWARE,
             ("政务服务", "智慧园区", "智慧农业", "电子档案", "能耗监测"),
             ("数据的加密存储方法", "数据的智能分类方法", "平台的权限管理方法"),
             ("终端的散热结构", "设备的安装支架"),
             ("自助服务终端",),
             ("智慧政务服务平台", "企业科技项目申报管理系统", "智慧园区综合管理平台", "农业物联网监测系统",
              "电子档案管理系统", "移动办公APP", "能耗在线监测平台", "智慧校园管理平台"),
             homes=("640106", "6401P2", "640104")),
    Industry("I6531", ("信息科技", "系统集成", "智能科技"), (_EI,), 6, SOFTWARE, MIX_SOFTWARE,
             ("视频监控", "智慧交通", "机房", "网络安全", "智慧社区"),
             ("系统的故障定位方法", "数据的融合处理方法", "设备的联动控制方法"),
             ("用机柜", "终端的安装结构", "设备的散热装置"),
             ("智能终端",),
             ("智慧社区综合管理平台", "视频监控联网系统", "网络安全态势感知平台", "机房动力环境监控系统"),
             homes=("640106", "640104", "6401P2")),
    Industry("I6450", ("云计算", "数据科技", "大数据"), (_EI,), 4, SOFTWARE, MIX_SOFTWARE,
             ("数据中心", "服务器机柜", "云主机", "算力调度"),
             ("的能耗优化方法", "的负载均衡方法", "的数据备份方法"),
             ("用冷通道", "的散热结构", "的布线装置"),
             software=("数据中心动环监控系统", "云资源调度管理平台", "算力资源调度平台", "数据备份与恢复系统"),
             homes=("640502", "6405P1")),
    Industry("C3825", ("光伏科技", "新能源", "光电科技"), (_NE,), 5, MANUFACTURING, MIX_EQUIPMENT,
             ("光伏组件", "光伏支架", "逆变器", "汇流箱", "跟踪支架"),
             ("的最大功率跟踪方法", "的清洗方法", "的隐裂检测方法"),
             ("用边框", "的接线盒", "用清扫装置", "的连接件"),
             ("光伏组件", "逆变器"),
             ("光伏电站智能运维平台", "光伏发电功率预测系统"),
             homes=("640106", "640181", "640521")),
    Industry("D4416", ("新能源", "光伏发电", "能源科技"), (_NE,), 3, POWER, MIX_EQUIPMENT,
             ("光伏电站", "光伏阵列", "储能电站", "箱式变电站"),
             ("的功率预测方法", "的运维巡检方法", "的调度控制方法"),
             ("用清洗机器人", "的支架基础", "用防风装置"),
             software=("新能源场站集控系统", "光伏电站运维管理平台"),
             homes=("640323", "640303", "640522", "640381")),
    Industry("C3415", ("风电装备", "风能科技"), (_NE,), 2, MANUFACTURING, MIX_EQUIPMENT,
             ("风电叶片", "风机塔筒", "变桨轴承", "风电齿轮箱"),
             ("的成型工艺", "的无损检测方法", "的防腐处理方法"),
             ("用吊装工装", "的法兰连接结构", "用防雷装置"),
             ("风电机舱罩",),
             ("风电机组状态监测系统",),
             homes=("640323", "640522", "6403P1")),
    Industry("C3841", ("储能科技", "新能源", "电池科技"), (_NE,), 3, MANUFACTURING, MIX_EQUIPMENT,
             ("磷酸铁锂电池", "储能电池包", "电池管理系统", "正极材料"),
             ("的均衡控制方法", "的热管理方法", "的制备方法"),
             ("用散热结构", "的防爆阀", "用连接片"),
             ("储能柜",),
             ("电池管理系统软件", "储能电站能量管理系统"),
             homes=("640106", "6402P1", "6405P1")),
    Industry("N7721", ("环保科技", "环境工程", "水务科技"), (_ENV,), 4, SERVICES, MIX_SERVICES,
             ("工业废水", "生活污水", "煤化工废水", "高盐废水"),
             ("的处理方法", "的零排放工艺", "的深度处理方法"),
             ("处理用曝气装置", "处理用沉淀池", "处理用加药装置"),
             software=("污水处理厂智能运维系统", "水质在线监测平台")),
    Industry("C3591", ("环保设备", "节能环保"), (_ENV,), 3, MANUFACTURING, MIX_EQUIPMENT,
             ("布袋除尘器", "脱硫塔", "VOCs治理设备", "湿式电除尘器"),
             ("的清灰控制方法", "的脱硝方法", "的运行优化方法"),
             ("用滤袋", "的喷淋装置", "用卸灰阀"),
             ("除尘器",),
             ("环保设备远程监控系统",),
             homes=("640202", "6401P3")),
    Industry("M7514", ("节能科技", "能源服务"), (_NE,), 3, SERVICES, MIX_SERVICES,
             ("余热回收系统", "空压站", "供热管网", "照明系统"),
             ("的节能控制方法", "的能效评估方法", "的优化调度方法"),
             ("用换热器", "的保温结构", "用智能阀门"),
             software=("企业能耗在线监测系统", "合同能源管理平台")),
    Industry("M7452", ("检测技术", "检验检测", "质量技术"), (_SVC,), 4, SERVICES, MIX_SERVICES,
             ("煤质", "水质", "土壤重金属", "农药残留", "建材"),
             ("的快速检测方法", "样品的前处理方法", "的检测方法"),
             ("检测用采样装置", "检测用样品粉碎装置", "检测用恒温装置"),
             software=("检验检测实验室信息管理系统", "检测报告自动生成系统")),
    Industry("M7320", ("科技发展", "技术研究"), (_SVC, _SVC, _MAT, _MFG), 3, SERVICES, MIX_SERVICES,
             ("中试平台", "新工艺", "新型材料", "检测设备"),
             ("的研发方法", "的性能评价方法", "的试验方法"),
             ("用试验台", "的测试装置", "用夹具"),
             software=("科研项目管理系统", "试验数据分析平台")),
    Industry("C1515", ("葡萄酒", "酒庄", "葡萄酒业"), (_BIO, None), 5, AGRIFOOD, MIX_FOOD,
             ("赤霞珠干红葡萄酒", "霞多丽干白葡萄酒", "酿酒葡萄", "起泡葡萄酒", "葡萄皮渣"),
             ("的酿造方法", "的陈酿工艺", "的冷浸渍工艺", "的综合利用方法"),
             ("用发酵罐", "的橡木桶支架", "用除梗破碎装置", "的灌装装置"),
             ("酒瓶", "葡萄酒包装盒", "酒标"),
             ("酒庄生产管理系统", "葡萄园物联网监测系统"),
             homes=("640105", "640121", "640122", "640381", "640303")),
    Industry("C1373", ("枸杞科技", "枸杞产业", "枸杞"), (_BIO, None, None), 3, AGRIFOOD, MIX_FOOD,
             ("枸杞干果", "枸杞原浆", "黑果枸杞", "枸杞芽茶"),
             ("的低温干燥工艺", "的分级方法", "的保鲜方法"),
             ("用色选装置", "的烘干设备", "用清洗装置", "的去梗装置"),
             ("枸杞包装盒", "枸杞原浆瓶"),
             ("枸杞质量溯源系统",),
             homes=("640521", "640502")),
    Industry("C1492", ("枸杞生物", "生物科技", "健康产业"), (_BIO,), 3, BIO, MIX_FOOD,
             ("枸杞多糖", "枸杞籽油", "枸杞玉米黄素", "枸杞肽"),
             ("的提取方法", "的制备方法", "的纯化工艺", "的微胶囊化方法"),
             ("用提取罐", "的浓缩装置", "用灌装装置"),
             ("保健品包装盒", "口服液瓶"),
             ("保健食品生产追溯系统",),
             homes=("640521", "640106", "6401P1")),
    Industry("C1441", ("乳业", "乳品"), (_BIO, None, None), 2, AGRIFOOD, MIX_FOOD,
             ("低温酸奶", "巴氏杀菌乳", "奶酪", "乳清蛋白"),
             ("的发酵工艺", "的杀菌方法", "的制备方法"),
             ("用灌装装置", "的杀菌设备", "用搅拌罐"),
             ("牛奶包装盒", "酸奶杯"),
             ("牧场管理系统", "乳品质量追溯平台"),
             homes=("640302", "640181", "640381", "6403P1")),
    Industry("A0511", ("种业", "农业科技"), (_BIO, _BIO, None), 3, AGRIFOOD, MIX_AGRI,
             ("马铃薯脱毒种薯", "玉米杂交种", "春小麦", "设施蔬菜种苗"),
             ("的组培快繁方法", "的制种方法", "的抗旱鉴定方法"),
             ("用播种装置", "的育苗盘", "用灌溉装置"),
             ("育苗盘",),
             ("智慧农业种植管理系统",),
             ("宁春{n}号", "宁薯{n}号", "宁杞{n}号"),
             homes=("640122", "640121", "640402", "640422")),
    Industry("C3572", ("农业装备", "农机"), (_MFG,), 3, MANUFACTURING, MIX_EQUIPMENT,
             ("枸杞采摘机", "马铃薯收获机", "精量播种机", "残膜回收机", "葡萄埋藤机"),
             ("的作业控制方法", "的智能导航方法", "的减损方法"),
             ("用挖掘铲", "的振动筛", "用仿形机构", "的传动装置"),
             ("采摘机", "播种机"),
             ("农机作业监测系统",),
             homes=("640122", "640521", "640302")),
    Industry("C3744", ("航空科技", "无人机"), (_AERO,), 1, MANUFACTURING, MIX_EQUIPMENT,
             ("植保无人机", "航空发动机叶片", "机载吊舱", "复合材料机翼"),
             ("的飞行控制方法", "的精密铸造方法", "的航迹规划方法"),
             ("用起落架", "的折叠机臂", "用喷洒装置"),
             ("无人机",),
             ("无人机飞控地面站软件", "植保作业管理系统"),
             homes=("640106", "6401P1")),
)

CORES = (
    "瑞丰", "宝塔", "塞上", "贺兰山", "黄河", "沙湖", "六盘", "凤城", "金泰", "华兴", "博远", "天元", "嘉禾",
    "宁盛", "永康", "恒泰", "九州", "中科", "宏图", "朔方", "银湖", "阅海", "鸣翠", "星海", "凯达", "晟通",
    "昊阳", "鑫源", "泰和", "润禾", "丰源", "西部", "中天", "北方", "华夏", "金沙", "大漠", "胡杨", "沙坡头",
    "腾格里", "罗山", "须弥", "清水河", "葫芦河", "泾河", "长城", "西夏", "唐徕", "汉延", "云帆", "智源",
    "天泽", "光华", "新华", "同创", "德润", "正和", "锦程", "明德", "致远",
)
SURNAMES = ("王", "李", "张", "刘", "马", "杨", "陈", "赵", "周", "吴", "徐", "孙", "胡", "朱", "高", "郭",
            "何", "罗", "田", "丁", "白", "海", "纳", "金", "冯", "韩", "曹", "袁", "贺", "万", "苏", "闫")
GIVEN = ("建", "国", "华", "明", "丽", "娟", "伟", "强", "军", "平", "芳", "霞", "燕", "红", "梅", "兰", "涛",
         "斌", "鹏", "辉", "磊", "静", "婷", "琳", "晓", "海", "文", "志", "永", "春", "玉", "凤", "宁", "瑞",
         "欣", "宇", "浩", "佳", "雪", "晨", "荣", "莉", "彬", "勇", "杰", "慧", "倩")
PRIMARY_TITLES = ("总经理", "总经理", "董事长", "副总经理", "办公室主任")
OTHER_TITLES = ("财务总监", "科技项目专员", "研发中心主任", "财务经理", "行政主管", "技术总监")
MOBILE_PREFIXES = ("130", "131", "133", "135", "136", "138", "139", "150", "151", "152", "153", "155",
                   "157", "158", "159", "180", "181", "182", "183", "186", "187", "188", "189")
GROWTH = {"fast": (0.25, 0.50), "steady": (0.05, 0.15), "flat": (-0.03, 0.04), "declining": (-0.15, -0.03)}
GROWTH_WEIGHTS = {"fast": 18, "steady": 47, "flat": 22, "declining": 13}
MIN_REVENUE, ABOVE_SCALE_REVENUE, MAX_REVENUE = 200.0, 2000.0, 60000.0  # 万元; 规上 starts at 2000


# --- codes: organisation code, USCC, patent numbers -------------------------------------

ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714
ORG_CHARS = USCC_ALPHABET  # 0-9 and A-Z without I, O, S, V, Z
PATENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
PATENT_SERIALS = (10**5, 35 * 10**5)  # the 7-digit serials issued run from 0100000 to about 3500000
# Days from application to grant (registration, for software copyrights), by kind.
GRANT_LAG_DAYS = {_INV: (540, 1100), _UM: (150, 360), _DES: (100, 250), _PV: (700, 1400), _SW: (30, 90)}


def org_code_check(body: str) -> str:
    """GB 11714 check character for the 8-character body of an organisation code."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(rng: random.Random, county_code: str, registered_after_reform: bool) -> str:
    """A valid USCC for an enterprise (91) registered in `county_code`."""
    if registered_after_reform:  # codes issued since the 2015 reform start with MA
        body = "MA7" + "".join(rng.choice(ORG_CHARS) for _ in range(5))
    else:
        body = rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(7))
    first17 = "91" + county_code + body + org_code_check(body)
    return first17 + check_digit(first17)


def patent_number(app_year: int, kind_digit: int, serial: int) -> str:
    """ZL + application number (year, kind, serial) + its mod-11 check digit."""
    digits = f"{app_year}{kind_digit}{serial:07d}"
    check = sum(int(d) * w for d, w in zip(digits, PATENT_WEIGHTS, strict=True)) % 11
    return f"ZL{digits}.{'X' if check == 10 else check}"


# --- building the enterprises -------------------------------------------------------------


@dataclass
class EnterpriseSpec:
    """One demo enterprise with its rows, built in memory before anything is written."""

    index: int
    name: str
    uscc: str
    region_code: str
    fields: dict
    contacts: list[dict] = field(default_factory=list)
    figures: list[dict] = field(default_factory=list)
    ip: list[dict] = field(default_factory=list)

    @property
    def is_showcase_candidate(self) -> bool:
        """In 金凤区, operating, with three years of figures and some IP: fit for the enterprise account."""
        return (self.region_code == SHOWCASE_REGION and self.fields["status"] == EnterpriseStatus.ACTIVE
                and self.fields["archived_at"] is None and len(self.figures) >= 3 and len(self.ip) >= 1)


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _pick_region(rng: random.Random, index: int) -> str:
    if index == 0:
        return SHOWCASE_REGION
    specs = [s for s in REGIONS if s.weight]
    return rng.choices(specs, weights=[s.weight for s in specs])[0].code


def _pick_industry(rng: random.Random, region_code: str) -> Industry:
    # Industries cluster: an industry's home regions draw it five times as often.
    weights = [ind.weight * (5 if region_code in ind.homes else 1) for ind in INDUSTRIES]
    return rng.choices(INDUSTRIES, weights=weights)[0]


def _name(rng: random.Random, region_code: str, industry: Industry, big: bool,
          taken: set[str]) -> tuple[str, str]:
    """A new enterprise name and its distinctive core word (瑞丰, 塞上…)."""
    county = county_of(region_code)
    prefixes = ["宁夏"] * 11 + [CITY_PREFIXES[county.parent]] * 6 + (
        [PLACE_PREFIXES[county.code]] * 3 if county.code in PLACE_PREFIXES else [])
    for _ in range(200):
        prefix, core = rng.choice(prefixes), rng.choice(CORES)
        if core.startswith(prefix) or prefix.startswith(core):
            continue  # 贺兰贺兰山… reads badly
        suffix = "股份有限公司" if big and rng.random() < 0.35 else rng.choice(("有限公司",) * 9 + ("有限责任公司",))
        name = f"{prefix}{core}{rng.choice(industry.words)}{suffix}"
        if name not in taken:
            return name, core
    raise RuntimeError("ran out of demo enterprise names")  # only with absurd --count values


def _person(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def _mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def _contacts(rng: random.Random) -> list[dict]:
    people = [{"name": _person(rng), "title": rng.choice(PRIMARY_TITLES), "phone": _mobile(rng),
               "is_primary": True}]
    if rng.random() < 0.55:
        second = _person(rng)
        if second != people[0]["name"]:
            people.append({"name": second, "title": rng.choice(OTHER_TITLES), "phone": _mobile(rng),
                           "is_primary": False})
    return people


def _address(rng: random.Random, region_code: str) -> str:
    spec = REGION_BY_CODE[region_code]
    county = county_of(region_code)
    place = f"{county.name}{spec.name}" if spec.level == RegionLevel.PARK else county.name
    return f"宁夏{REGION_BY_CODE[county.parent].name}{place}{rng.choice(spec.streets)}{rng.randint(1, 399)}号"


def _established(rng: random.Random, index: int) -> date:
    # More enterprises were founded in recent years; enterprise 0 is an established one.
    years = list(range(1998, 2017 if index == 0 else 2025))
    year = rng.choices(years, weights=[1 + (y - 1998) * 0.25 for y in years])[0]
    return date(year, 1, 1) + timedelta(days=rng.randrange(365))


def _status(rng: random.Random, index: int) -> tuple[str, datetime | None]:
    # Every 60th enterprise (from the 30th) has left and is archived: 5 of the default 300.
    if index % 60 == 29:
        archived = datetime(2025, rng.randint(1, 11), rng.randint(1, 28), 2, 30, tzinfo=UTC)
        return rng.choice((EnterpriseStatus.CLOSED, EnterpriseStatus.MOVED_OUT)), archived
    roll = rng.random() if index else 0.0
    if roll > 0.98:
        return EnterpriseStatus.CLOSED, None
    if roll > 0.96:
        return EnterpriseStatus.MOVED_OUT, None
    return EnterpriseStatus.ACTIVE, None


def _revenue_path(rng: random.Random, n_years: int, growth: str, above_scale: bool) -> list[float]:
    """Revenue per year (万元), oldest first, within 200–60000 and ≥ 2000 in the last year iff above scale."""
    low_g, high_g = GROWTH[growth]
    rel = [1.0]
    for _ in range(n_years - 1):
        rel.append(rel[-1] * (1 + rng.uniform(low_g, high_g)))
    low, high = (ABOVE_SCALE_REVENUE, MAX_REVENUE) if above_scale else (MIN_REVENUE, ABOVE_SCALE_REVENUE - 1)
    low = max(low, MIN_REVENUE * 1.001 * rel[-1] / min(rel))  # the margin survives rounding
    high = min(high, MAX_REVENUE * rel[-1] / max(rel))
    latest = low * (high / low) ** (rng.random() ** 1.5)  # log-scale, more small than large
    return [latest * r / rel[-1] for r in rel]


def _verified_at(rng: random.Random, year: int) -> datetime:
    # Figures of a year are checked in the spring after it (the annual report season).
    return datetime(year + 1, rng.randint(3, 6), rng.randint(1, 28), rng.randint(1, 9), rng.randint(0, 59),
                    tzinfo=UTC)


def _figures(rng: random.Random, industry: Industry, years: list[int], growth: str, above_scale: bool,
             showcase: bool) -> list[dict]:
    econ = industry.economics
    revenues = _revenue_path(rng, len(years), growth, above_scale)
    productivity = rng.uniform(*econ["productivity"])
    # The enterprise account's own company is a credible 高企 candidate: enough tech staff.
    tech_ratio = rng.uniform(max(0.14, econ["tech_ratio"][0]), 0.35) if showcase else rng.uniform(*econ["tech_ratio"])
    rd_ratio = rng.uniform(*econ["rd_ratio"])
    if showcase:  # …and R&D just short of the 高企 threshold: its readiness shows one small gap
        rd_ratio = SHOWCASE_RD_RATIO
    hightech_share = rng.uniform(*econ["hightech_share"])
    domestic_share = 1.0 if rng.random() < 0.6 else rng.uniform(0.85, 0.99)
    rd_staff_share = rng.uniform(0.45, 0.85)
    assets_ratio, net_share = rng.uniform(0.8, 2.5), rng.uniform(0.35, 0.70)
    rows = []
    for k, (year, revenue) in enumerate(zip(years, revenues, strict=True)):
        employees = max(8, round(revenue / (productivity * (1.03 ** k) * rng.uniform(0.94, 1.06))))
        # Rounded within 8–45 % of the employees, whatever their number.
        tech = _clamp(round(employees * (tech_ratio + rng.uniform(-0.02, 0.02))),
                      -(-employees * 8 // 100), employees * 45 // 100)
        rd = _money(revenue * _clamp(rd_ratio + rng.uniform(-0.005, 0.005), 0.015, 0.09))
        revenue_d = _money(revenue)
        assets = revenue * _clamp(assets_ratio + rng.uniform(-0.05, 0.05), 0.8, 2.5)
        latest = year == years[-1]
        verified = not latest and (showcase or rng.random() < 0.85)
        rows.append({
            "year": year,
            "revenue": revenue_d,
            "hightech_revenue": min(revenue_d, _money(revenue * _clamp(
                hightech_share + rng.uniform(-0.03, 0.03), 0.40, 0.95))),
            "rd_expense": rd,
            "rd_expense_domestic": min(rd, _money(float(rd) * domestic_share)),
            "total_cost": _money(revenue * rng.uniform(0.80, 0.97)),
            "total_assets": _money(assets),
            "net_assets": _money(assets * _clamp(net_share + rng.uniform(-0.02, 0.02), 0.35, 0.70)),
            "employees": employees,
            "tech_staff": tech,
            "rd_staff": max(1, min(tech, round(tech * rd_staff_share))),
            "source": FigureSource.OFFICER if latest else FigureSource.IMPORT,
            "verified": verified,
            "verified_at": _verified_at(rng, year) if verified else None,
        })
    return rows


def _add_conversions(index: int, figures: list[dict], ip: list[dict]) -> None:
    """科技成果转化 per year (0–8) for enterprises with IP: more and better IP and more R&D, more conversions.

    Drawn from a stream of their own, so adding them changed none of the other values. Enterprises
    without IP have none recorded (None: not known).
    """
    rng = random.Random(f"{SEED}:conversions:{index}")
    valid = [item for item in ip if item["is_valid"]]
    class_one = sum(1 for item in valid if item["kind"] in CLASS_I_KINDS)
    # R&D-intensive firms convert more of what they hold (a factor of 1 at 5 % of revenue).
    intensity = sum(float(f["rd_expense"]) for f in figures) / max(1.0, sum(float(f["revenue"]) for f in figures))
    rate = min(7.0, (1.5 + len(valid) / 3 + class_one / 2) * (0.6 + 8 * intensity)) if ip else None
    low = 0.6
    if index == 0:  # the showcase turns its IP into products steadily: five to seven a year
        rate, low = 5.5, 0.9
    for row in figures:
        row["conversions"] = None if rate is None else max(0, min(8, round(rate * rng.uniform(low, 1.3))))


def _ip_count(rng: random.Random, established: date, showcase: bool) -> int:
    if showcase:
        return rng.randint(12, 20)
    band = rng.choices(((0, 0), (1, 5), (6, 12), (13, 25)), weights=(10, 35, 35, 20))[0]
    count = rng.randint(*band)
    return min(count, 5) if established.year >= 2023 else count  # young firms hold little yet


def _ip_title_number(rng: random.Random, kind: str, industry: Industry, core: str, applied: date,
                     granted: date) -> tuple[str, str]:
    """A title in the industry's vocabulary and a well-formed number for an IP item."""
    thing = rng.choice(industry.things)
    serial = rng.randint(*PATENT_SERIALS)
    if kind == _INV:
        return f"一种{thing}{rng.choice(industry.methods)}", patent_number(applied.year, 1, serial)
    if kind == _UM:
        return f"一种{thing}{rng.choice(industry.parts)}", patent_number(applied.year, 2, serial)
    if kind == _DES:
        variant = rng.choice(("", "", "（一）", "（二）", "（A型）"))
        return f"{rng.choice(industry.designs)}{variant}", patent_number(applied.year, 3, serial)
    if kind == _PV:
        name = rng.choice(industry.varieties).format(n=rng.randint(1, 15))
        return name, f"CNA{applied.year}{rng.randint(1000, 9999)}.{rng.randint(0, 9)}"
    prefix = core if rng.random() < 0.5 else ""
    version = f"V{rng.randint(1, 3)}.{rng.choice((0, 0, 0, 1, 2))}"
    return f"{prefix}{rng.choice(industry.software)}{version}", f"{granted.year}SR{rng.randint(10000, 1500000):07d}"


def _ip_item(rng: random.Random, industry: Industry, core: str, established: date) -> dict:
    mix = {k: w for k, w in industry.ip_mix.items()
           if (k != _DES or industry.designs) and (k != _PV or industry.varieties)
           and (k != _SW or industry.software)}
    kind = rng.choices(list(mix), weights=list(mix.values()))[0]
    lag = timedelta(days=rng.randint(*GRANT_LAG_DAYS[kind]))
    earliest = max(established, date(2009, 1, 1)) + lag
    if earliest > DATA_DATE and kind != _UM:  # too young for a slow grant: a utility model instead
        kind, lag = _UM, timedelta(days=rng.randint(*GRANT_LAG_DAYS[_UM]))
        earliest = min(DATA_DATE, max(established, date(2009, 1, 1)) + lag)
    # Grants pile up in recent years: skew the date towards the end of the window.
    window = max(0, (DATA_DATE - earliest).days)
    granted = earliest + timedelta(days=round(window * rng.random() ** 0.8))
    applied = granted - lag
    title, number = _ip_title_number(rng, kind, industry, core, applied, granted)
    # Utility models and designs lapse after ten years; a few items lapse early (fees not paid).
    lapsed = kind in (_UM, _DES) and applied.year <= DATA_DATE.year - 10
    class_two = kind in (_UM, _DES, _SW)
    return {"kind": kind, "title": title, "number": number, "granted_on": granted,
            "is_valid": not lapsed and rng.random() > 0.06,
            "used_in_earlier_application": class_two and granted.year <= 2022 and rng.random() < 0.35}


def _ip_items(rng: random.Random, industry: Industry, core: str, established: date, showcase: bool) -> list[dict]:
    items: list[dict] = []
    seen: set[tuple[str, str]] = set()
    titles: set[str] = set()
    for _ in range(_ip_count(rng, established, showcase)):
        for _attempt in range(6):  # prefer distinct titles; numbers must be distinct
            item = _ip_item(rng, industry, core, established)
            if (item["kind"], item["number"]) not in seen and item["title"] not in titles:
                break
        if (item["kind"], item["number"]) in seen:
            continue
        seen.add((item["kind"], item["number"]))
        titles.add(item["title"])
        items.append(item)
    return items


def build_enterprise(index: int, taken_names: set[str], taken_usccs: set[str]) -> EnterpriseSpec:
    """Enterprise number `index` of the demo data, drawn from its own seeded stream."""
    rng = random.Random(f"{SEED}:{index}")
    showcase = index == 0
    region_code = _pick_region(rng, index)
    industry = _pick_industry(rng, region_code)
    above_scale = showcase or rng.random() < 0.35
    established = _established(rng, index)
    status, archived_at = _status(rng, index)
    name, core = _name(rng, region_code, industry, above_scale, taken_names)
    uscc = make_uscc(rng, county_of(region_code).code, established.year >= 2016)
    while uscc in taken_usccs:
        uscc = make_uscc(rng, county_of(region_code).code, established.year >= 2016)
    # Figures end with 2025 for enterprises still here, a year or two earlier for those gone.
    last = LAST_YEAR if status == EnterpriseStatus.ACTIVE else max(established.year, rng.choice((2023, 2024)))
    n_years = rng.randint(3, 5)
    years = list(range(max(last - n_years + 1, established.year), last + 1))
    growth = "steady" if showcase else rng.choices(list(GROWTH_WEIGHTS), weights=list(GROWTH_WEIGHTS.values()))[0]
    fields = {
        "name": name, "uscc": uscc, "address": _address(rng, region_code), "industry_code": industry.code,
        "tech_domain": rng.choice(industry.domains), "established_on": established,
        "is_above_scale": above_scale, "status": status, "archived_at": archived_at,
    }
    spec = EnterpriseSpec(
        index=index, name=name, uscc=uscc, region_code=region_code, fields=fields,
        contacts=_contacts(rng),
        figures=_figures(rng, industry, years, growth, above_scale, showcase),
        ip=_ip_items(rng, industry, core, established, showcase),
    )
    _add_conversions(index, spec.figures, spec.ip)
    return spec


def build_enterprises(count: int) -> list[EnterpriseSpec]:
    """The first `count` demo enterprises (the same ones on every run)."""
    names: set[str] = set()
    usccs: set[str] = set()
    specs = []
    for index in range(count):
        spec = build_enterprise(index, names, usccs)
        names.add(spec.name)
        usccs.add(spec.uscc)
        specs.append(spec)
    return specs


def showcase_of(specs: list[EnterpriseSpec]) -> EnterpriseSpec:
    """The enterprise the `enterprise` demo account belongs to (the first fit one: enterprise 0)."""
    return next(spec for spec in specs if spec.is_showcase_candidate)


# --- writing ------------------------------------------------------------------------------


@dataclass
class RegistryTallies:
    """Created / existing counts of each table the registry load writes."""

    enterprises: Tally = field(default_factory=Tally)
    contacts: Tally = field(default_factory=Tally)
    figures: Tally = field(default_factory=Tally)
    ip: Tally = field(default_factory=Tally)


def _existing_keys(session, old_ids: list[int]) -> tuple[set, dict, set]:
    """Keys of the contacts, figures and IP already held by enterprises that exist.

    Figures map (enterprise id, year) to the row's id where its conversions are missing (else None).
    """
    if not old_ids:
        return set(), {}, set()

    def rows(*columns) -> list[tuple]:
        owner = columns[0]
        return [tuple(row) for start in range(0, len(old_ids), 900)
                for row in session.execute(select(*columns).where(owner.in_(old_ids[start:start + 900])))]

    figures = {(owner, year): row_id if conversions is None else None for owner, year, row_id, conversions
               in rows(AnnualFigures.enterprise_id, AnnualFigures.year, AnnualFigures.id, AnnualFigures.conversions)}
    return (set(rows(Contact.enterprise_id, Contact.name)), figures,
            set(rows(IntellectualProperty.enterprise_id, IntellectualProperty.kind, IntellectualProperty.number)))


def _figures_row(data: dict, verifier_id: int | None) -> AnnualFigures:
    return AnnualFigures(**data, verified_by_id=verifier_id if data["verified"] else None)


def _create(session, spec: EnterpriseSpec, region: Region, verifier_id: int | None,
            tallies: RegistryTallies) -> Enterprise:
    enterprise = Enterprise(
        region_id=region.id, **spec.fields,
        contacts=[Contact(**c) for c in spec.contacts],
        figures=[_figures_row(f, verifier_id) for f in spec.figures],
        ip_items=[IntellectualProperty(**item) for item in spec.ip],
    )
    session.add(enterprise)
    tallies.enterprises.created += 1
    tallies.contacts.created += len(spec.contacts)
    tallies.figures.created += len(spec.figures)
    tallies.ip.created += len(spec.ip)
    return enterprise


def _complete(session, spec: EnterpriseSpec, enterprise_id: int, verifier_id: int | None, keys: tuple,
              tallies: RegistryTallies, fills: list[dict]) -> None:
    """Add what an existing demo enterprise lacks; leave what it has as it is (but fill in missing conversions)."""
    contact_keys, figure_keys, ip_keys = keys
    tallies.enterprises.existing += 1
    for data in spec.contacts:
        if (enterprise_id, data["name"]) in contact_keys:
            tallies.contacts.existing += 1
        else:
            session.add(Contact(enterprise_id=enterprise_id, **{**data, "is_primary": False}))
            tallies.contacts.created += 1
    for data in spec.figures:
        if (enterprise_id, data["year"]) in figure_keys:
            tallies.figures.existing += 1
            row_id = figure_keys[(enterprise_id, data["year"])]
            if row_id is not None and data["conversions"] is not None:  # loaded before conversions were kept
                fills.append({"id": row_id, "conversions": data["conversions"]})
                tallies.figures.updated += 1
        else:
            session.add(_figures_row({**data, "enterprise_id": enterprise_id}, verifier_id))
            tallies.figures.created += 1
    for data in spec.ip:
        if (enterprise_id, data["kind"], data["number"]) in ip_keys:
            tallies.ip.existing += 1
        else:
            session.add(IntellectualProperty(enterprise_id=enterprise_id, **data))
            tallies.ip.created += 1


def load_enterprises(session, specs: list[EnterpriseSpec], regions: dict[str, Region],
                     verifier: Callable[[Region], int | None], tallies: RegistryTallies) -> dict[str, int]:
    """Write the demo enterprises (and their rows) that are missing; return every one's id by USCC."""
    ids = dict(session.execute(
        select(Enterprise.uscc, Enterprise.id).where(Enterprise.uscc.in_([s.uscc for s in specs]))).all())
    keys = _existing_keys(session, list(ids.values()))
    created: dict[str, Enterprise] = {}
    fills: list[dict] = []
    for n, spec in enumerate(specs, 1):
        region = regions[spec.region_code]
        if spec.uscc in ids:
            _complete(session, spec, ids[spec.uscc], verifier(region), keys, tallies, fills)
        else:
            created[spec.uscc] = _create(session, spec, region, verifier(region), tallies)
        if n % FLUSH_EVERY == 0:
            session.flush()
    if fills:  # one executemany, by primary key; the version counts the change (optimistic lock, crm.core.concurrency)
        table = AnnualFigures.__table__
        session.execute(update(table).where(table.c.id == bindparam("fill_id"))
                        .values(conversions=bindparam("fill_conversions"), version=table.c.version + 1),
                        [{"fill_id": f["id"], "fill_conversions": f["conversions"]} for f in fills])
    session.flush()
    ids.update((uscc, enterprise.id) for uscc, enterprise in created.items())
    return ids
