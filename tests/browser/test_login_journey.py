"""Logging in with a real browser, in Chinese and then English, on a desktop and a phone."""

from __future__ import annotations

from tests.browser.live import LiveServer, journey
from tests.databases import ADMIN_PASSWORD


def test_a_user_logs_in_sees_the_menus_switches_to_english_and_logs_out(
    server: LiveServer,
) -> None:
    with journey(server, "login") as tab:
        tab.go("/inbox")
        assert "/login" in tab.page.url  # sent to log in first, and back after
        tab.page.fill("#username", "admin")
        tab.page.fill("#password", "not the password")
        tab.page.click("button[type=submit]")
        assert tab.page.locator("#login-error").is_visible()

        tab.log_in("admin", ADMIN_PASSWORD)
        assert tab.page.url.endswith("/inbox")
        menu = tab.page.locator("#side-menu")
        assert menu.get_by_role("link", name="房屋", exact=True).is_visible()
        tab.screenshot("1-logged-in")

        tab.page.click("#switch-language")
        assert tab.page.locator("html").get_attribute("lang") == "en"
        assert tab.page.locator("#nav-inbox").inner_text() == "Inbox"
        tab.screenshot("2-english")
        tab.log_out()


def test_the_menu_folds_away_on_a_phone_and_keyboard_reaches_the_content(
    server: LiveServer,
) -> None:
    with journey(server, "phone", phone=True) as tab:
        tab.log_in("admin", ADMIN_PASSWORD)
        tab.page.keyboard.press("Tab")  # the first stop is the skip link
        assert tab.page.evaluate("document.activeElement.className") == "skip"
        tab.page.keyboard.press("Enter")
        assert tab.page.evaluate("document.activeElement.id") == "content"
        side = tab.page.locator("details.side")
        assert side.get_attribute("open") is None  # folded on a narrow screen
        assert not tab.page.locator("#side-menu").is_visible()
        tab.page.click("details.side summary")
        assert tab.page.locator("#side-menu").is_visible()
        tab.screenshot("1-phone-menu")
