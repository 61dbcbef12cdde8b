"""The aggregates analysts can ask for, by root field."""

from resolvers.analytics.spec import Aggregate, Dimension, Join, Measure

_CUSTOMER = {"customer": Join("Customer", "customer_id")}
_SEGMENT = Dimension("customerSegment", "{customer}.segment", ("customer",), presented="upper({v})")

AGGREGATES: dict[str, Aggregate] = {
    "Order": Aggregate(
        entity="Order",
        time="{t}.placed_at",
        time_kind="datetime",
        measures={
            "subtotal": Measure("{t}.subtotal", "decimal"),
            "tax": Measure("{t}.tax", "decimal"),
            "total": Measure("{t}.total", "decimal"),
        },
        dimensions={
            "STATUS": Dimension("status", "{t}.status", presented="upper({v})"),
            "CUSTOMER": Dimension("customer", "{t}.customer_id", target="Customer"),
            "CUSTOMER_SEGMENT": _SEGMENT,
            "CUSTOMER_COUNTRY": Dimension("customerCountry", "{customer}.country", ("customer",)),
            "SALES_REP": Dimension("salesRep", "{t}.sales_rep_id", target="Employee"),
            "ACCOUNT_MANAGER": Dimension(
                "accountManager", "{customer}.account_manager_id", ("customer",), target="Employee"
            ),
        },
        joins=_CUSTOMER,
    ),
    "Invoice": Aggregate(
        entity="Invoice",
        time="{t}.issued_at",
        time_kind="datetime",
        measures={
            "total": Measure("{t}.total", "decimal"),
            "amountPaid": Measure("{t}.amount_paid", "decimal"),
            "amountDue": Measure("({t}.total - {t}.amount_paid)", "decimal"),
        },
        dimensions={
            "STATUS": Dimension("status", "{t}.status", presented="upper({v})"),
            "CUSTOMER": Dimension("customer", "{t}.customer_id", target="Customer"),
            "CUSTOMER_SEGMENT": _SEGMENT,
            "CUSTOMER_COUNTRY": Dimension("customerCountry", "{customer}.country", ("customer",)),
        },
        joins=_CUSTOMER,
    ),
    "Payment": Aggregate(
        entity="Payment",
        time="{t}.paid_at",
        time_kind="datetime",
        measures={"amount": Measure("{t}.amount", "decimal")},
        dimensions={"METHOD": Dimension("method", "{t}.method", presented="upper({v})")},
    ),
    "OrderLine": Aggregate(
        entity="OrderLine",
        time="{order}.placed_at",
        time_kind="datetime",
        time_joins=("order",),
        measures={
            "quantity": Measure("{t}.quantity", "int"),
            "lineTotal": Measure("{t}.line_total", "decimal"),
        },
        dimensions={
            "PRODUCT": Dimension("product", "{t}.product_id", target="Product"),
            "ORDER_STATUS": Dimension("orderStatus", "{order}.status", ("order",), presented="upper({v})"),
        },
        joins={"order": Join("Order", "order_id")},
    ),
    "Employee": Aggregate(
        entity="Employee",
        time="{t}.hired_on",
        time_kind="date",
        measures={"salary": Measure("{t}.salary", "decimal")},
        dimensions={
            "STATUS": Dimension("status", "{t}.status", presented="upper({v})"),
            "DEPARTMENT": Dimension("department", "{t}.department_id", target="Department"),
        },
    ),
}
