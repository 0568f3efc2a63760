from django.urls import path

from . import views

urlpatterns = [
    path("woocommerce/<slug:name>", views.woocommerce_receive, name="webhook-woocommerce"),
    path("learndash/<slug:name>", views.learndash_receive, name="webhook-learndash"),
]
