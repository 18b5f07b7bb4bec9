"""Reports for people: Allure results (the only place that touches allure) and charts."""
