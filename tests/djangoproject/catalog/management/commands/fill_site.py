"""Fill an empty, migrated database with the same data every time (``--seed``).

Text holds non-BMP characters everywhere, and a NUL character where the backend stores one (SQLite
does, PostgreSQL refuses it).
"""

import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from cms.models import ArticlePage, Comment, EventPage, Page
from django.apps import apps
from django.contrib.auth.models import Group, Permission, User
from django.contrib.contenttypes.models import ContentType
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from shop_catalog.models import Brand, BrandAlias

from catalog.models import (
    AuditEntry,
    Banner,
    Category,
    Coupon,
    DigitalProduct,
    Employee,
    Order,
    OrderLine,
    Product,
    Shelf,
    Specimen,
    StockLevel,
    Supplier,
    SupplierContact,
    Warehouse,
)


class Command(BaseCommand):
    help = "Fill the database deterministically with every construct of the differential test project."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        self.rng = random.Random(options["seed"])
        self.nul = "\x00" if connection.vendor == "sqlite" else ""
        with transaction.atomic():
            self.fill()

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def moment(self, day: int) -> datetime:
        return datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC) + timedelta(
            days=day, seconds=self.rng.randint(0, 9999)
        )

    def fill(self) -> None:
        rng = self.rng
        editors = Group.objects.create(name="editors")
        buyers = Group.objects.create(name="buyers 🛒")
        editors.permissions.set(Permission.objects.filter(content_type__app_label__in=["cms", "taggit"]).order_by("pk"))
        buyers.permissions.set(
            Permission.objects.filter(
                content_type__app_label__in=["catalog", "shop_catalog"], codename__startswith="view_"
            )
        )
        users = {}
        for name in ["admin", "alice", "bob", "carol", "dave"]:
            user = User(username=name, email=f"{name}@example.org", first_name=name.title() + " 🙂")
            user.set_password(f"{name}-password")
            user.is_staff = name in {"admin", "alice"}
            user.is_superuser = name == "admin"
            user.date_joined = self.moment(0)
            user.last_login = self.moment(10) if name != "dave" else None
            user.save()
            users[name] = user
        users["alice"].groups.add(editors, buyers)
        users["bob"].groups.add(buyers)
        users["carol"].user_permissions.add(Permission.objects.get(codename="change_product"))

        root = Category.add_root(name="All", slug="all")
        hardware = root.add_child(name="Hardware", slug="hardware")
        hardware.add_child(name="Cables", slug="cables")
        tools = hardware.add_child(name="Tools", slug="tools")
        software = root.add_child(name="Software 💾", slug="software")

        suppliers = [
            Supplier.objects.create(uuid=self.uuid(), name="Acme", email="sales@acme.example", website_ip="192.0.2.7"),
            Supplier.objects.create(uuid=self.uuid(), name="Zürich Tools 🔧", website_ip="2001:db8::1"),
            Supplier.objects.create(uuid=self.uuid(), name="Nameless" + self.nul),
        ]
        SupplierContact.objects.create(supplier=suppliers[0], name="Ann at Acme")
        SupplierContact.objects.create(supplier=suppliers[1], name="Jörg 🔩")
        SupplierContact.objects.create(supplier=None, name="former supplier's contact")
        Coupon.objects.create(code="WELCOME", percent=10)
        Coupon.objects.create(code="VIP-🎟", percent=25)
        north = Warehouse.objects.create(code="WH-NORTH", city="Oslo", opened=date(2019, 5, 1))
        south = Warehouse.objects.create(code="WH_SOUTH", city="Sevilla ☀", opened=date(2021, 1, 31))

        products = []
        for index in range(8):
            product = Product.objects.create(
                sku=f"sku-{index:03d}",
                name=f"Product {index} 🚀" if index % 2 else f"Product {index}",
                description="Cable\nwith a tab\tand a NUL" + self.nul if index == 3 else "No description yet.",
                price=Decimal(f"{rng.randint(1, 9999)}.{rng.randint(0, 99):02d}"),
                color=["black", "white", "red"][index % 3],
                category=[tools, hardware, software][index % 3],
                replaces=products[index - 1] if index in {4, 6} else None,
            )
            products.append(product)
        products[0].related.add(products[1], products[2])
        products[3].related.add(products[1])
        products[0].tags.add("sale", "new 🆕")
        products[1].tags.add("sale")
        downloads = [
            DigitalProduct.objects.create(
                sku=f"dl-{index}",
                name=f"Download {index}",
                price=Decimal("19.90"),
                category=software,
                download_url=f"https://downloads.example/{index}.zip",
                size_bytes=2**40 + index,
            )
            for index in range(2)
        ]
        downloads[0].tags.add("digital")
        products[0].related.add(downloads[1])

        Shelf.objects.create(warehouse=north, label="A1")
        Shelf.objects.create(warehouse=south, label="B7")
        Banner.objects.create(section=tools, text="Tools on sale")
        Banner.objects.create(section=software, text="New software 💿")
        Banner.objects.create(section=None, text="Welcome")
        for warehouse, bin_number, quantity in [(north, 1, 5), (north, 2, 0), (south, 1, 12), (south, 7, 3)]:
            StockLevel.objects.create(warehouse=warehouse, bin=bin_number, quantity=quantity)
        brand = Brand.objects.create(name="Nordlys ✨", founded=date(1990, 1, 1))
        BrandAlias.objects.create(brand=brand, alias="NL")
        BrandAlias.objects.create(brand=Brand.objects.create(name="Unknown"), alias="?")

        boss = Employee.objects.create(badge="E1", warehouse=north, name="Nora", user=users["alice"])
        clerk = Employee.objects.create(badge="E2", warehouse=north, name="Nils", manager=boss)
        twin = Employee.objects.create(badge="E1", warehouse=south, name="Sara 👩", manager=boss, user=users["bob"])
        Employee.objects.create(badge="E3", warehouse=south, name="Santi", manager=twin)
        boss.colleagues.add(clerk, twin)
        clerk.follows.add(boss)
        twin.follows.add(boss, clerk)

        orders = []
        for index, customer in enumerate(["bob", "carol", "bob"]):
            order = Order.objects.create(
                uuid=self.uuid(),
                placed_at=self.moment(20 + index),
                customer=users[customer],
                notes=None if index == 1 else f"deliver before noon #{index} 📦",
            )
            for line in range(1 + index):
                product = products[(index + line) % len(products)]
                OrderLine.objects.create(order=order, product=product, quantity=line + 1, unit_price=product.price)
            orders.append(order)

        product_type = ContentType.objects.get_for_model(Product)
        employee_type = ContentType.objects.get_for_model(Employee)
        for index, (kind, pk) in enumerate(
            [(product_type, products[2].pk), (product_type, downloads[0].pk), (employee_type, twin.pk)]
        ):
            AuditEntry.objects.create(
                content_type=kind,
                object_id=pk,
                object_uuid=orders[0].uuid if index < 2 else orders[1].uuid,
                actor=users["admin"] if index else None,
                action="change" if index else "create",
                message="" if index == 2 else f"entry {index} ✅",
                at=self.moment(30 + index),
            )

        Specimen.objects.create(
            big=-(2**62),
            small=-7,
            positive=2**31 - 1,
            positive_small=32767,
            positive_big=2**62,
            ratio=0.1,
            ratio_null=1e-300,
            amount=Decimal("12345678.1234"),
            amount_null=Decimal("-0.0001"),
            flag=True,
            flag_null=False,
            day=date(1999, 12, 31),
            day_null=date(2024, 2, 29),
            time=time(23, 59, 59, 999999),
            time_null=time(0, 0),
            moment=self.moment(40),
            moment_null=datetime(1970, 1, 1, tzinfo=UTC),
            span=timedelta(days=3, hours=4, microseconds=5),
            span_null=timedelta(microseconds=-1),
            token=self.uuid(),
            token_null=self.uuid(),
            address="10.0.0.1",
            address_null="::ffff:192.0.2.1",
            blob=bytes(range(256)),
            blob_null=b"",
            document={"name": "ünïcode 🎉", "list": [1, 2.5, None, True], "nested": {"a": {"b": []}}},
            document_null=["a", {"b": None}],
            slug="every-field",
            email="specimen@example.org",
            text="non-BMP \U0001d54f and emoji 🧪" + self.nul,
            text_null="",
            title="full",
        )
        Specimen.objects.create(
            big=0,
            positive=0,
            positive_small=0,
            positive_big=0,
            ratio=-2.5,
            amount=Decimal("0"),
            day=date(2000, 1, 1),
            time=time(12, 0),
            moment=self.moment(41),
            token=self.uuid(),
            address="2001:db8::ff00:42:8329",
            blob=b"\x00",
            document_null=None,
            slug="nulls",
            email="nulls@example.org",
            title="nulls",
        )

        page_type = ContentType.objects.get_for_model(Page)
        article_type = ContentType.objects.get_for_model(ArticlePage)
        event_type = ContentType.objects.get_for_model(EventPage)
        root_page = Page.add_root(title="Root", slug="root", content_type=page_type)
        home = root_page.add_child(title="Home 🏠", slug="home", content_type=page_type, owner=users["admin"])
        articles = [
            home.add_child(
                instance=ArticlePage(
                    title=f"Article {index}",
                    slug=f"article-{index}",
                    content_type=article_type,
                    owner=users["alice"],
                    body=f"Body {index} with 𝄞 music",
                    published=date(2025, 4, index + 1) if index else None,
                )
            )
            for index in range(3)
        ]
        articles[0].tags.add("sale", "news")
        articles[2].tags.add("news")
        event = articles[1].add_child(
            instance=EventPage(
                title="Launch party",
                slug="launch",
                content_type=event_type,
                starts_at=self.moment(50),
                live=False,
            )
        )
        event.speakers.add(users["alice"], users["carol"])
        for page, author, text in [(articles[0], "bob", "Nice 👍"), (event, "carol", "See you"), (home, "dave", "?")]:
            Comment.objects.create(
                content_type=ContentType.objects.get_for_model(page), object_id=page.pk, author=users[author], text=text
            )
        if apps.is_installed("pg_arrays"):
            self.fill_arrays()
        self.stdout.write(f"filled with seed {rng.random():.6f}")

    def fill_arrays(self) -> None:
        """PostgreSQL's arrays: empty, NULL, nested with NULL items, and items of each kind of text form."""
        from pg_arrays.models import Reading, Survey

        spring, autumn = Survey.objects.create(name="spring 🌱"), Survey.objects.create(name="autumn")
        Reading.objects.create(
            survey=spring,
            values=[3, -1, 2**31 - 1],
            labels=["a,b", 'q " \\ b', "{braces}", "NULL", "", "🌱"],
            grid=[[1, None], [3, 4]],
            amounts=[Decimal("1.50"), Decimal("-0.01")],
            moments=[self.moment(1), self.moment(2)],
            days=[date(2025, 1, 31)],
            tokens=[self.uuid(), self.uuid()],
            flags=[True, False],
        )
        Reading.objects.create(survey=spring, values=[], labels=[])
        Reading.objects.create(survey=autumn, values=[7], grid=[], amounts=[], tokens=[])
