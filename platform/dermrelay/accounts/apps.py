from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dermrelay.accounts"
    label = "accounts"
    verbose_name = "Sites and users"
