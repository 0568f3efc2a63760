from django.urls import path

from . import views

urlpatterns = [
    path("woocommerce/<slug:name>", views.woocommerce_receive, name="webhook-woocommerce"),
]
