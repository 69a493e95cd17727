"""What each benchmark world is: size, rhythm, goods, columns present and anomalies seeded.

The worlds differ from the demo and from each other on purpose (another ERP's headers and
units, a marketplace's weekend rhythm, growth and openings, a clean control), so a detector
that only works on one shape shows it in the numbers.  A spec is data; the generator modules
read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

#: the anomaly kinds a world can seed (the benchmark's truth vocabulary)
KINDS: tuple[str, ...] = (
    "line_qty_outlier", "store_day_surge", "amount_spike", "step_mismatch", "price_deviation",
    "payment_mismatch", "picking_overdue", "delivery_overdue", "missing_address", "duplicate_order",
    "credit_limit",
)
#: correlation kinds: scored separately (they read other flags or pairs of orders)
CORRELATION_KINDS: tuple[str, ...] = ("cancel_reorder", "flag_cluster")

#: weekday factors (Mon..Sun) of the rhythms that are not delivery routes
WEEKLY: dict[str, tuple[float, ...]] = {
    "weekend": (0.85, 0.65, 0.65, 0.75, 1.0, 1.75, 1.6),   # consumers buy at the weekend
    "week": (1.35, 0.85, 0.8, 0.85, 1.0, 1.4, 1.3),        # stores restock Sat/Sun/Mon
    "mild": (1.1, 1.0, 0.95, 1.0, 1.05, 0.9, 0.8),
    "weekdays": (1.3, 1.1, 1.0, 1.0, 1.15, 0.35, 0.15),     # shops order on working days
}


@dataclass(frozen=True)
class WorldSpec:
    name: str
    about: str
    dialect: str                    # key of dialects.DIALECTS
    stores: int
    openings: int                   # stores opening after the first day ...
    late_openings: int              # ... of which this many in the last 10 days
    weeks: int
    end: date                       # the last business day; as_of is that day at as_of_hour
    as_of_hour: float
    rhythm: str                     # "route" (ordering weekdays per store) or a key of WEEKLY
    lines: tuple[int, int]          # lines per order of a small and of a large store
    goods: str                      # catalog family: drinks, consumer, grocery, wholesale
    orders_per_day: float = 1.0     # consumer worlds: mean orders of an average shop a day
    case_share: float = 0.0         # share of SKUs sold by the case (the rest by the piece)
    line_value: float = 700.0       # what a typical line of an average store is worth at most
    store_size: float = 1.0         # median store size (scales lines per order and quantities)
    locale: str = "zh"              # zh: Chinese addresses and names; en: US ones
    growth: tuple[float, float] = (0.0, 0.1)   # total growth over the period (growing stores)
    growth_share: float = 0.0
    promo_days: tuple[int, ...] = ()           # days before the end with a platform promotion
    promo_factor: float = 1.0
    catalog: bool = False
    buyers: bool = False
    picking: bool = True
    delivery: bool = True
    payments: tuple[tuple[str, float], ...] = (("cod", 1.0),)
    cancel_rate: float = 0.01
    cancel_blank_qty: bool = False
    return_rate: float = 0.0
    late_pick_rate: float = 0.015   # picked (or shipped) late but done: counted, never a flag
    late_delivery_rate: float = 0.01
    store_master: bool = False      # the platform's store master (credit limits) beside the export
    seeds: dict[str, int] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return self.weeks * 7


SPECS: dict[str, WorldSpec] = {s.name: s for s in (
    WorldSpec(
        name="erp_cases",
        about="a drinks distributor's ERP sales-order lines (管家婆-style headers, GBK CSV): "
              "stores on delivery-route weekdays, beer and water by the case, spirits by the bottle, "
              "a SKU master in its own header dialect, cash on delivery with large orders",
        dialect="grasp_sales", stores=320, openings=20, late_openings=6, weeks=9,
        end=date(2026, 8, 28), as_of_hour=20.0, rhythm="route",
        lines=(3, 9), goods="drinks", case_share=0.55, growth=(0.1, 0.4), growth_share=0.3,
        catalog=True, picking=True, delivery=False,
        payments=(("cod", 0.55), ("credit", 0.25), ("transfer", 0.12), ("wechat", 0.08)), store_master=True,
        seeds={"line_qty_outlier": 36, "store_day_surge": 30, "amount_spike": 30, "step_mismatch": 30,
               "price_deviation": 30, "payment_mismatch": 30, "picking_overdue": 30,
               "missing_address": 30, "duplicate_order": 30, "credit_limit": 30},
    ),
    WorldSpec(
        name="weekly_marketplace",
        about="a multi-shop Taobao/Tmall seller export (订单+宝贝 columns, UTF-8 with BOM): consumer "
              "orders with buyer ids, weekend peaks and one promotion day, no picking or delivery "
              "column (created, paid and shipped times only), the address in one text field",
        dialect="taobao_lines", stores=220, openings=12, late_openings=4, weeks=8,
        end=date(2026, 9, 15), as_of_hour=22.0, rhythm="weekend", orders_per_day=2.2,
        lines=(1, 2), goods="consumer", growth=(0.0, 0.3), growth_share=0.4,
        promo_days=(20,), promo_factor=3.0, buyers=True, picking=False, delivery=False,
        payments=(("alipay", 1.0),), cancel_rate=0.04,
        seeds={"line_qty_outlier": 30, "store_day_surge": 30, "amount_spike": 30,
               "picking_overdue": 30, "missing_address": 30, "duplicate_order": 30},
    ),
    WorldSpec(
        name="growth_openings",
        about="a retail chain's distribution-centre requisition export (门店要货单, .xlsx): stores "
              "growing 50-100 % over the period, stores opening mid-way and in the last days, "
              "return documents with negative quantities, cancelled lines with a blank quantity, "
              "picking, shipping and delivery times, no catalog",
        dialect="requisition_xlsx", stores=260, openings=60, late_openings=20, weeks=8,
        end=date(2026, 10, 20), as_of_hour=19.0, rhythm="mild",
        lines=(3, 10), goods="grocery", case_share=0.4, growth=(0.5, 1.0), growth_share=0.75,
        picking=True, delivery=True,
        payments=(("prepaid", 0.45), ("credit", 0.35), ("cod", 0.2)),
        cancel_rate=0.015, cancel_blank_qty=True, return_rate=0.03, store_master=True,
        seeds={"credit_limit": 15, "line_qty_outlier": 30, "store_day_surge": 30, "amount_spike": 30,
               "price_deviation": 30, "payment_mismatch": 30, "picking_overdue": 30,
               "delivery_overdue": 30, "missing_address": 30, "duplicate_order": 30,
               "cancel_reorder": 20},
    ),
    WorldSpec(
        name="shopify_wholesale",
        about="a US wholesaler's Shopify orders export (English headers, UTF-8 CSV): one row per "
              "line item with the order's fields (status, totals, address) only on its first row, "
              "times with their UTC offset, shops ordering on working days, cases and single units, "
              "card, bank deposit or cash on delivery; no picking or delivery column",
        dialect="shopify_orders", stores=260, openings=20, late_openings=6, weeks=8,
        end=date(2026, 7, 31), as_of_hour=18.0, rhythm="weekdays",
        lines=(2, 7), goods="wholesale", case_share=0.5, line_value=400.0, growth=(0.2, 0.6),
        growth_share=0.4, promo_days=(17,), promo_factor=2.0, picking=False, delivery=False,
        payments=(("card", 0.5), ("transfer", 0.2), ("cod", 0.3)), cancel_rate=0.02, locale="en",
        store_master=True,
        seeds={"credit_limit": 8, "line_qty_outlier": 30, "store_day_surge": 30, "amount_spike": 30, "price_deviation": 30,
               "picking_overdue": 30, "missing_address": 30, "duplicate_order": 30},
    ),
    WorldSpec(
        name="clean",
        about="an ERP line export (聚水潭-style headers, UTF-8 CSV) with a catalog: Sat/Sun/Mon "
              "restocking peaks, a promotion day, growth, openings, returns, cash on delivery "
              "around an 8,000 median order; nothing seeded, so every flag is a false alarm",
        dialect="jst_lines", stores=300, openings=30, late_openings=8, weeks=9,
        end=date(2026, 11, 24), as_of_hour=20.5, rhythm="week",
        lines=(4, 10), goods="grocery", case_share=0.5, line_value=2400.0, store_size=4.0, growth=(0.3, 0.8), growth_share=0.5,
        promo_days=(16,), promo_factor=2.2, catalog=True, picking=False, delivery=True,
        payments=(("cod", 0.6), ("wechat", 0.25), ("credit", 0.15)), return_rate=0.02, store_master=True,
        seeds={},
    ),
)}
