"""Deals: importing closed deals from CRM exports, storing them, and debrief coverage."""
