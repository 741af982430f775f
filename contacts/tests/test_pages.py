from django.test import Client
from contacts.models import Contact
from leads.models import Lead

def test_explore(browser_client, contact):
    r = browser_client.get("/admin/leads")
    c = r.content.decode()
    print("contact dropdown", "Ada Lovelace" in c)
    i = c.find('name="contact"'); print(c[i-200:i+400])
    r = browser_client.get("/admin/deals")
    c = r.content.decode()
    i = c.find('name="contact"'); print(c[i-200:i+400])
    i = c.find('name="currency"'); print(c[i-200:i+400])
    r = browser_client.get(f"/admin/contacts/{contact.pk}")
    c = r.content.decode()
    i = c.find('occurred_at'); print(c[i-200:i+400])
    r = browser_client.get("/admin/contacts?page=5")
    c = r.content.decode()
    i = c.find('result-count'); print(c[i-200:i+400])
