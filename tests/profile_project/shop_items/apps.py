from django.apps import AppConfig


class ShopItemsConfig(AppConfig):
    name = "tests.profile_project.shop_items"
    label = "shop_items"
