"""The alarms plugin (tessdb_alarms): rules, delivery to real servers, the live service."""
