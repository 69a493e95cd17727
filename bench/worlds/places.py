"""Where stores and buyers are, and who receives the goods: Chinese addresses, names, phones.

Written for the benchmark alone (no vocabulary shared with the demo), so a detector cannot
lean on a list it has seen before.  Every draw goes through the caller's numpy Generator,
so a world is the same for the same seed.
"""

from __future__ import annotations

import numpy as np

#: (province, city, landline area code, districts)
REGIONS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("河南省", "郑州市", "0371", ("金水区", "中原区", "二七区", "管城回族区", "惠济区")),
    ("河北省", "石家庄市", "0311", ("长安区", "桥西区", "新华区", "裕华区")),
    ("安徽省", "合肥市", "0551", ("蜀山区", "包河区", "庐阳区", "瑶海区")),
    ("江西省", "南昌市", "0791", ("东湖区", "西湖区", "青山湖区", "红谷滩区")),
    ("广西壮族自治区", "南宁市", "0771", ("青秀区", "兴宁区", "江南区", "西乡塘区")),
    ("云南省", "昆明市", "0871", ("五华区", "盘龙区", "官渡区", "西山区")),
    ("贵州省", "贵阳市", "0851", ("南明区", "云岩区", "观山湖区", "花溪区")),
    ("辽宁省", "沈阳市", "024", ("和平区", "沈河区", "皇姑区", "铁西区", "浑南区")),
    ("吉林省", "长春市", "0431", ("朝阳区", "南关区", "宽城区", "绿园区")),
    ("黑龙江省", "哈尔滨市", "0451", ("道里区", "南岗区", "香坊区", "道外区")),
    ("山西省", "太原市", "0351", ("小店区", "迎泽区", "杏花岭区", "万柏林区")),
    ("浙江省", "宁波市", "0574", ("海曙区", "江北区", "鄞州区", "镇海区")),
    ("江苏省", "无锡市", "0510", ("梁溪区", "滨湖区", "新吴区", "锡山区")),
    ("山东省", "青岛市", "0532", ("市南区", "市北区", "李沧区", "崂山区", "黄岛区")),
    ("广东省", "佛山市", "0757", ("禅城区", "南海区", "顺德区", "三水区")),
    ("福建省", "福州市", "0591", ("鼓楼区", "台江区", "仓山区", "晋安区")),
    ("新疆维吾尔自治区", "乌鲁木齐市", "0991", ("天山区", "沙依巴克区", "新市区", "水磨沟区")),
    ("内蒙古自治区", "呼和浩特市", "0471", ("新城区", "回民区", "玉泉区", "赛罕区")),
)
STREETS = ("农业路", "纬五路", "花园路", "经三路", "友爱路", "金桥路", "东明路", "嵩山路",
           "红旗路", "民航路", "北环路", "工人路", "桐柏路", "商都路", "未来路", "银河路",
           "平安大街", "振兴街", "望江路", "丰产路")
COMPOUNDS = ("小区", "花园", "家园", "广场", "商业街", "大厦", "公寓", "新村")
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜戚谢邹喻柏水窦章云苏潘葛"
GIVEN = "子涵欣怡梓轩浩然雨桐诗琪俊杰宇航思远嘉怡一诺可馨晓峰春燕海涛志强丽萍国庆建华秀英桂兰"
MOBILE_HEADS = ("134", "135", "136", "147", "150", "153", "157", "166", "173", "175", "176",
                "178", "182", "183", "185", "191", "195", "198", "199")


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Two- or three-character Chinese names."""
    sur = rng.choice(list(SURNAMES), n)
    g1 = rng.choice(list(GIVEN), n)
    g2 = np.where(rng.random(n) < 0.6, rng.choice(list(GIVEN), n), "")
    return np.char.add(np.char.add(sur, g1), g2)


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Valid 11-digit mainland mobiles."""
    heads = rng.choice(MOBILE_HEADS, n)
    tails = rng.integers(0, 10**8, n)
    return np.array([f"{h}{t:08d}" for h, t in zip(heads, tails)])


def landlines(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """Landlines with their area code, written ``0371-66881234``."""
    nums = rng.integers(2 * 10**7, 9 * 10**7, len(codes))
    return np.array([f"{c}-{n}" for c, n in zip(codes, nums)])


def addresses(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` delivery addresses: province, city, district, street address, area code."""
    region = rng.integers(0, len(REGIONS), n)
    prov = np.array([REGIONS[r][0] for r in region])
    city = np.array([REGIONS[r][1] for r in region])
    code = np.array([REGIONS[r][2] for r in region])
    dist = np.array([REGIONS[r][3][rng.integers(0, len(REGIONS[r][3]))] for r in region])
    street = rng.choice(STREETS, n)
    no = rng.integers(1, 400, n)
    comp = rng.choice(COMPOUNDS, n)
    bld = rng.integers(1, 30, n)
    addr = np.array([f"{s}{k}号{c}{b}号楼" for s, k, c, b in zip(street, no, comp, bld)])
    return {"province": prov, "city": city, "district": dist, "address": addr, "area_code": code}
