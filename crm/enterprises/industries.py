"""GB/T 4754-2017 国民经济行业分类: sections (门类) and divisions (大类)."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

SECTIONS = {  # letter -> label
    "A": _l("Agriculture, forestry, animal husbandry and fishery"),  # 农、林、牧、渔业
    "B": _l("Mining"),  # 采矿业
    "C": _l("Manufacturing"),  # 制造业
    "D": _l("Production and supply of electricity, heat, gas and water"),  # 电力、热力、燃气及水生产和供应业
    "E": _l("Construction"),  # 建筑业
    "F": _l("Wholesale and retail trade"),  # 批发和零售业
    "G": _l("Transport, storage and postal services"),  # 交通运输、仓储和邮政业
    "H": _l("Accommodation and catering"),  # 住宿和餐饮业
    # 信息传输、软件和信息技术服务业
    "I": _l("Information transmission, software and information technology services"),
    "J": _l("Finance"),  # 金融业
    "K": _l("Real estate (section)"),  # 房地产业
    "L": _l("Leasing and business services"),  # 租赁和商务服务业
    "M": _l("Scientific research and technical services"),  # 科学研究和技术服务业
    "N": _l("Water conservancy, environment and public facilities management"),  # 水利、环境和公共设施管理业
    "O": _l("Resident services, repair and other services"),  # 居民服务、修理和其他服务业
    "P": _l("Education (section)"),  # 教育
    "Q": _l("Health and social work"),  # 卫生和社会工作
    "R": _l("Culture, sports and entertainment"),  # 文化、体育和娱乐业
    "S": _l("Public administration, social security and social organizations"),  # 公共管理、社会保障和社会组织
    "T": _l("International organizations (section)"),  # 国际组织
}

DIVISIONS = {  # two-digit code -> (section letter, label)
    "01": ("A", _l("Agriculture")),  # 农业
    "02": ("A", _l("Forestry")),  # 林业
    "03": ("A", _l("Animal husbandry")),  # 畜牧业
    "04": ("A", _l("Fishery")),  # 渔业
    # 农、林、牧、渔专业及辅助性活动
    "05": (
        "A",
        _l("Professional and support activities for agriculture, forestry, animal husbandry and fishery"),
    ),
    "06": ("B", _l("Mining and washing of coal")),  # 煤炭开采和洗选业
    "07": ("B", _l("Extraction of petroleum and natural gas")),  # 石油和天然气开采业
    "08": ("B", _l("Mining and processing of ferrous metal ores")),  # 黑色金属矿采选业
    "09": ("B", _l("Mining and processing of non-ferrous metal ores")),  # 有色金属矿采选业
    "10": ("B", _l("Mining and processing of non-metallic minerals")),  # 非金属矿采选业
    "11": ("B", _l("Professional and support activities for mining")),  # 开采专业及辅助性活动
    "12": ("B", _l("Other mining")),  # 其他采矿业
    "13": ("C", _l("Processing of food from agricultural products")),  # 农副食品加工业
    "14": ("C", _l("Manufacture of foods")),  # 食品制造业
    "15": ("C", _l("Manufacture of liquor, beverages and refined tea")),  # 酒、饮料和精制茶制造业
    "16": ("C", _l("Manufacture of tobacco products")),  # 烟草制品业
    "17": ("C", _l("Manufacture of textiles")),  # 纺织业
    "18": ("C", _l("Manufacture of textile garments and apparel")),  # 纺织服装、服饰业
    # 皮革、毛皮、羽毛及其制品和制鞋业
    "19": ("C", _l("Manufacture of leather, fur, feathers and related products, and footwear")),
    # 木材加工和木、竹、藤、棕、草制品业
    "20": (
        "C",
        _l("Processing of timber and manufacture of wood, bamboo, rattan, palm and straw products"),
    ),
    "21": ("C", _l("Manufacture of furniture")),  # 家具制造业
    "22": ("C", _l("Manufacture of paper and paper products")),  # 造纸和纸制品业
    "23": ("C", _l("Printing and reproduction of recording media")),  # 印刷和记录媒介复制业
    # 文教、工美、体育和娱乐用品制造业
    "24": (
        "C",
        _l("Manufacture of articles for culture, education, arts and crafts, sports and entertainment"),
    ),
    "25": ("C", _l("Processing of petroleum, coal and other fuels")),  # 石油、煤炭及其他燃料加工业
    "26": ("C", _l("Manufacture of raw chemical materials and chemical products")),  # 化学原料和化学制品制造业
    "27": ("C", _l("Manufacture of medicines")),  # 医药制造业
    "28": ("C", _l("Manufacture of chemical fibres")),  # 化学纤维制造业
    "29": ("C", _l("Manufacture of rubber and plastic products")),  # 橡胶和塑料制品业
    "30": ("C", _l("Manufacture of non-metallic mineral products")),  # 非金属矿物制品业
    "31": ("C", _l("Smelting and pressing of ferrous metals")),  # 黑色金属冶炼和压延加工业
    "32": ("C", _l("Smelting and pressing of non-ferrous metals")),  # 有色金属冶炼和压延加工业
    "33": ("C", _l("Manufacture of metal products")),  # 金属制品业
    "34": ("C", _l("Manufacture of general-purpose equipment")),  # 通用设备制造业
    "35": ("C", _l("Manufacture of special-purpose equipment")),  # 专用设备制造业
    "36": ("C", _l("Manufacture of motor vehicles")),  # 汽车制造业
    # 铁路、船舶、航空航天和其他运输设备制造业
    "37": ("C", _l("Manufacture of railway, ship, aerospace and other transport equipment")),
    "38": ("C", _l("Manufacture of electrical machinery and equipment")),  # 电气机械和器材制造业
    # 计算机、通信和其他电子设备制造业
    "39": ("C", _l("Manufacture of computers, communication and other electronic equipment")),
    "40": ("C", _l("Manufacture of instruments and meters")),  # 仪器仪表制造业
    "41": ("C", _l("Other manufacturing")),  # 其他制造业
    "42": ("C", _l("Comprehensive utilization of waste resources")),  # 废弃资源综合利用业
    "43": ("C", _l("Repair of metal products, machinery and equipment")),  # 金属制品、机械和设备修理业
    "44": ("D", _l("Production and supply of electricity and heat")),  # 电力、热力生产和供应业
    "45": ("D", _l("Production and supply of gas")),  # 燃气生产和供应业
    "46": ("D", _l("Production and supply of water")),  # 水的生产和供应业
    "47": ("E", _l("Construction of buildings")),  # 房屋建筑业
    "48": ("E", _l("Civil engineering")),  # 土木工程建筑业
    "49": ("E", _l("Building installation")),  # 建筑安装业
    "50": ("E", _l("Building decoration, renovation and other construction")),  # 建筑装饰、装修和其他建筑业
    "51": ("F", _l("Wholesale trade")),  # 批发业
    "52": ("F", _l("Retail trade")),  # 零售业
    "53": ("G", _l("Rail transport")),  # 铁路运输业
    "54": ("G", _l("Road transport")),  # 道路运输业
    "55": ("G", _l("Water transport")),  # 水上运输业
    "56": ("G", _l("Air transport")),  # 航空运输业
    "57": ("G", _l("Pipeline transport")),  # 管道运输业
    "58": ("G", _l("Multimodal transport and transport agency services")),  # 多式联运和运输代理业
    "59": ("G", _l("Loading, unloading, handling and warehousing")),  # 装卸搬运和仓储业
    "60": ("G", _l("Postal services")),  # 邮政业
    "61": ("H", _l("Accommodation")),  # 住宿业
    "62": ("H", _l("Catering services")),  # 餐饮业
    # 电信、广播电视和卫星传输服务
    "63": (
        "I",
        _l("Telecommunications, radio and television, and satellite transmission services"),
    ),
    "64": ("I", _l("Internet and related services")),  # 互联网和相关服务
    "65": ("I", _l("Software and information technology services")),  # 软件和信息技术服务业
    "66": ("J", _l("Monetary and financial services")),  # 货币金融服务
    "67": ("J", _l("Capital market services")),  # 资本市场服务
    "68": ("J", _l("Insurance")),  # 保险业
    "69": ("J", _l("Other financial services")),  # 其他金融业
    "70": ("K", _l("Real estate")),  # 房地产业
    "71": ("L", _l("Leasing")),  # 租赁业
    "72": ("L", _l("Business services")),  # 商务服务业
    "73": ("M", _l("Research and experimental development")),  # 研究和试验发展
    "74": ("M", _l("Professional technical services")),  # 专业技术服务业
    "75": ("M", _l("Technology promotion and application services")),  # 科技推广和应用服务业
    "76": ("N", _l("Water conservancy management")),  # 水利管理业
    "77": ("N", _l("Ecological protection and environmental governance")),  # 生态保护和环境治理业
    "78": ("N", _l("Public facilities management")),  # 公共设施管理业
    "79": ("N", _l("Land management")),  # 土地管理业
    "80": ("O", _l("Resident services")),  # 居民服务业
    # 机动车、电子产品和日用产品修理业
    "81": ("O", _l("Repair of motor vehicles, electronic products and household goods")),
    "82": ("O", _l("Other services")),  # 其他服务业
    "83": ("P", _l("Education")),  # 教育
    "84": ("Q", _l("Health")),  # 卫生
    "85": ("Q", _l("Social work")),  # 社会工作
    "86": ("R", _l("News and publishing")),  # 新闻和出版业
    "87": ("R", _l("Radio, television, film and sound recording production")),  # 广播、电视、电影和录音制作业
    "88": ("R", _l("Culture and arts")),  # 文化艺术业
    "89": ("R", _l("Sports")),  # 体育
    "90": ("R", _l("Entertainment")),  # 娱乐业
    "91": ("S", _l("Organs of the Communist Party of China")),  # 中国共产党机关
    "92": ("S", _l("State organs")),  # 国家机构
    "93": ("S", _l("CPPCC and democratic parties")),  # 人民政协、民主党派
    "94": ("S", _l("Social security")),  # 社会保障
    # 群众团体、社会团体和其他成员组织
    "95": ("S", _l("Mass organizations, social organizations and other membership organizations")),
    # 基层群众自治组织及其他组织
    "96": ("S", _l("Grassroots self-governing organizations and other organizations")),
    "97": ("T", _l("International organizations")),  # 国际组织
}

CODE_RE = re.compile(r"^([A-T])(\d{2})(\d{1,2})?$")


def parse_industry_code(code: str) -> tuple[str, str] | None:
    """(section, division) of a code such as C35, C351 or C3511; None if not GB/T 4754."""
    match = CODE_RE.match(code.strip().upper()) if isinstance(code, str) else None
    if match is None:
        return None
    section, division = match.group(1), match.group(2)
    entry = DIVISIONS.get(division)
    if entry is None or entry[0] != section:
        return None
    return section, division


def industry_label(code: str | None):
    """The division label of a stored code, the code itself when unknown, or "" for None."""
    if code is None:
        return ""
    parsed = parse_industry_code(code)
    return DIVISIONS[parsed[1]][1] if parsed else code


def division_choices():
    """[("C35", "C35 <label>"), ...] for every division in code order, for a <select>."""
    return [
        (f"{section}{code}", f"{section}{code} {label!s}")
        for code, (section, label) in sorted(DIVISIONS.items())
    ]
