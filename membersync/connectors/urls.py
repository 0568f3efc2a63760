from django.urls import path

from . import views
from .crm import views as crm

urlpatterns = [
    path("woocommerce/<slug:name>", views.woocommerce_receive, name="webhook-woocommerce"),
    path("learndash/<slug:name>", views.learndash_receive, name="webhook-learndash"),
    path("activecampaign/<slug:name>/<str:secret>", crm.activecampaign_receive, name="webhook-activecampaign"),
    path("crm/<slug:name>", crm.crm_receive, name="webhook-crm"),
]
