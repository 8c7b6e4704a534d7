"""`python -m bot doctor`: is this installation ready, and if not, what to fix.

Checks the config, the tokens (by asking the platform who the bot is; a token is never
printed, not even in part), that the staff chats exist and the bot is in them, the webhook
status, the disk space and the database (integrity, migrations). Each finding says what to fix,
in Vietnamese then English. It reads only: no message is sent, the database is opened
read-only, and a running bot is not disturbed.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import httpx

from storage import backups
from storage.clock import system_clock
from storage.db import MIGRATIONS_DIR

from .channels.zalo import ZaloAuthError, ZaloBotApi, ZaloError, ZaloNetworkError, ZaloNotFound
from .config import Config

__all__ = ["Finding", "diagnose", "render"]

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
_MARK = {OK: "✅", INFO: "ℹ️ ", WARN: "⚠️ ", FAIL: "❌"}
DISK_FAIL_BYTES = 200 * 1024 * 1024  # below this the database may soon refuse a question
DISK_WARN_BYTES = 1024 * 1024 * 1024
TIMEOUT = 10.0


@dataclass(frozen=True)
class Finding:
    level: str  # ok | info | warn | fail; any fail makes `doctor` exit 1
    what: str
    fix: str = ""


async def diagnose(config: Config, database: Path | None = None) -> list[Finding]:
    """Every finding, in the order an IT person would fix them."""
    found = [_config_finding(config)]
    legacy = _legacy_communes(config)
    if legacy is not None:
        found.append(legacy)
    async with httpx.AsyncClient() as http:
        for channel in ("telegram", "zalo"):
            found.extend(await _channel(config, channel, http))
    if not config.telegram_token and not config.zalo_token and not config.demo:
        found.append(Finding(FAIL, "Chưa có token nào / no bot token set",
                             "Đặt TELEGRAM_BOT_TOKEN và/hoặc ZALO_BOT_TOKEN trong môi trường "
                             "(tệp env của dịch vụ). / Set TELEGRAM_BOT_TOKEN and/or "
                             "ZALO_BOT_TOKEN in the service's environment."))
    db = Path(database or config.database)
    found.append(_disk(db))
    found.extend(_database(db))
    found.append(_backups(config, db))
    return found


def render(findings: list[Finding]) -> str:
    lines = []
    for f in findings:
        lines.append(f"{_MARK[f.level]} {f.what}")
        if f.fix:
            lines.append(f"   → {f.fix}")
    failed = sum(f.level == FAIL for f in findings)
    warned = sum(f.level == WARN for f in findings)
    lines.append("")
    lines.append(f"Cần sửa: {failed}, nên xem: {warned}. / To fix: {failed}, to check: {warned}."
                 if failed or warned else "Mọi thứ đã sẵn sàng. / Everything is ready.")
    return "\n".join(lines)


def _config_finding(config: Config) -> Finding:
    if config.demo:
        return Finding(WARN, f"Cấu hình {config.path} là bản chạy thử / this is the demo config",
                       "`run` không chạy trên tệp này: dùng config.toml của Hội (--config). / "
                       "`run` refuses it: use the union's config.toml (--config).")
    return Finding(OK, f"Cấu hình đọc được / config is valid: {config.path}")


def _legacy_communes(config: Config) -> Finding | None:
    """[communes.legacy]: each old name must lead to a commune of a configured province, or it
    would be dropped without a word and the old name not recognised."""
    if not config.communes_legacy:
        return None
    from .communes import load_communes

    names: set[str] = set()
    for code in {d.province_code for d in config.settings.dialogues}:
        try:
            names.update(load_communes(code, config.communes_add, config.communes_rename).names)
        except ValueError:
            continue
    unknown = sorted(new for new in set(config.communes_legacy.values()) if new not in names)
    if unknown:
        return Finding(FAIL, "`[communes.legacy]` dẫn tới xã không có trong danh sách / leads "
                             f"to communes no dialogue has: {', '.join(unknown)}",
                       "Viết đúng tên xã mới như trong danh sách (có dấu, có \"Xã\"/\"Phường\"). / "
                       "Write the new name exactly as the commune list has it.")
    return Finding(OK, f"`[communes.legacy]`: {len(config.communes_legacy)} tên cũ / old names")


# -- channels ---------------------------------------------------------------------------------


async def _channel(config: Config, channel: str, http: httpx.AsyncClient) -> list[Finding]:
    token = config.channel(channel).token
    base = config.channel(channel).base_url
    name = channel.capitalize()
    env = "TELEGRAM_BOT_TOKEN" if channel == "telegram" else "ZALO_BOT_TOKEN"
    if not token:
        return [Finding(INFO, f"{name}: chưa đặt {env}, kênh này không chạy / "
                              f"{env} not set, channel off")]
    api = ZaloBotApi(http, base, token.value)
    try:
        me = await _call(api.call("getMe"))
    except ZaloAuthError:
        return [Finding(FAIL, f"{name}: token sai hoặc đã bị thu hồi / the token is wrong or "
                              "revoked (401)", _token_fix(channel, env))]
    except ZaloNetworkError:
        return [Finding(FAIL, f"{name}: không kết nối được tới {base} / cannot reach the API",
                        "Kiểm tra mạng, DNS, tường lửa, proxy ra ngoài và `base_url` trong "
                        f"[{channel}]. / Check network, DNS, firewall and [{channel}] base_url.")]
    except ZaloError as exc:
        return [Finding(FAIL, f"{name}: getMe trả lỗi {exc.code} / getMe failed "
                              f"({exc.description})", _token_fix(channel, env))]
    who = _bot_name(me)
    found = [Finding(OK, f"{name}: token hợp lệ / token works{who}")]
    found.append(await _staff_chat(config, channel, api))
    found.append(await _webhook(config, channel, api))
    if not config.settings.staff_ids.get(channel):
        found.append(Finding(WARN, f"{name}: chưa có cán bộ nào trong `[{channel}] staff_ids` / "
                                   "no staff user ids",
                             "Mỗi cán bộ nhắn /id cho bot để biết id của mình, rồi ghi vào "
                             f"`[{channel}] staff_ids`. / Each staff member sends /id to the bot; "
                             f"list the ids in `[{channel}] staff_ids`."))
    return found


def _token_fix(channel: str, env: str) -> str:
    if channel == "telegram":
        return (f"Lấy lại token ở @BotFather (/token), đặt vào {env} rồi khởi động lại. / "
                f"Get the token again from @BotFather and set {env}.")
    return (f"Lấy lại token ở trang quản lý Zalo Bot (Zalo Bot Platform), đặt vào {env}. / "
            f"Copy the token again from the Zalo Bot Platform into {env}.")


def _bot_name(me: object) -> str:
    if not isinstance(me, dict):
        return ""
    name = me.get("username") or me.get("account_name") or me.get("name") or ""
    return f" (@{name})" if name and isinstance(name, str) else ""


async def _staff_chat(config: Config, channel: str, api: ZaloBotApi) -> Finding:
    name = channel.capitalize()
    chat = config.settings.staff_chat(channel)
    key = f"`[{channel}] staff_chat_id`"
    if not chat:
        level = WARN if config.allow_no_staff_alerts else FAIL
        return Finding(level, f"{name}: chưa có nhóm cán bộ nhận tin khẩn / no staff chat for "
                              "danger alerts",
                       "Thêm bot vào nhóm cán bộ, gõ /id trong nhóm, ghi số id nhóm vào "
                       f"{key}. / Add the bot to the staff group, send /id there, put the "
                       f"group id in {key}.")
    if channel == "zalo":
        return Finding(INFO, f"Zalo: nhóm cán bộ {chat} (Zalo không cho kiểm tra trước; tin "
                             "khẩn đầu tiên sẽ cho biết) / Zalo cannot check a chat in advance")
    try:
        info = await _call(api.call("getChat", {"chat_id": chat}))
    except ZaloNotFound:
        return Finding(WARN, f"{name}: API không có getChat, chưa kiểm tra được nhóm {chat} / "
                             "cannot check the staff chat")
    except ZaloError as exc:
        return Finding(FAIL, f"{name}: không tìm thấy nhóm cán bộ {chat} / the staff chat is "
                             f"not reachable ({exc.code} {exc.description})",
                       "Id nhóm sai, hoặc bot chưa được thêm vào nhóm, hoặc đã bị xóa khỏi "
                       f"nhóm. Thêm bot vào nhóm, gõ /id trong nhóm và sửa {key}. / Wrong id, "
                       "or the bot is not a member: add it, send /id in the group, fix the key.")
    kind = info.get("type", "") if isinstance(info, dict) else ""
    if kind == "private":
        return Finding(WARN, f"{name}: {key} là một người, không phải nhóm / is a person, "
                             "not a group",
                       "Tin khẩn chỉ đến một người: nên dùng nhóm cán bộ. / Alerts reach one "
                       "person only: use the staff group.")
    return Finding(OK, f"{name}: bot ở trong nhóm cán bộ {chat} / the bot is in the staff chat")


async def _webhook(config: Config, channel: str, api: ZaloBotApi) -> Finding:
    name = channel.capitalize()
    mode = getattr(config, f"{channel}_mode", "polling")
    try:
        info = await _call(api.call("getWebhookInfo"))
    except ZaloNotFound:
        info = {}  # Zalo answers 404 when no webhook is set
    except ZaloError as exc:
        return Finding(WARN, f"{name}: không đọc được trạng thái webhook / webhook status "
                             f"unknown ({exc.code})")
    info = info if isinstance(info, dict) else {}
    url = info.get("url") or ""
    if mode == "webhook":
        if not url:
            return Finding(FAIL, f"{name}: chế độ webhook nhưng chưa đăng ký webhook / webhook "
                                 "mode but no webhook is set",
                           f"Chạy `python -m bot webhook set` (kênh {channel}). / Run "
                           "`python -m bot webhook set`.")
        error = info.get("last_error_message")
        if error:
            return Finding(WARN, f"{name}: webhook báo lỗi gần nhất / last webhook error: "
                                 f"{str(error)[:200]}",
                           "Kiểm tra HTTPS và reverse proxy (docs/deploy.md). / Check HTTPS "
                           "and the reverse proxy.")
        pending = info.get("pending_update_count", 0)
        return Finding(OK, f"{name}: webhook đã đăng ký / webhook set ({pending} chờ / pending)")
    if url:
        return Finding(WARN, f"{name}: chế độ polling nhưng đang có webhook / polling mode but a "
                             "webhook is set",
                       "Khi chạy, polling sẽ xóa webhook. Nếu muốn webhook, đặt "
                       f'`[{channel}] mode = "webhook"`. / Polling deletes it at start; set '
                       'mode = "webhook" if that is what you want.')
    if channel == "zalo":
        return Finding(WARN, "Zalo: đang dùng polling, Zalo chỉ khuyên dùng khi phát triển / "
                             "Zalo documents polling for development only",
                       'Khi chạy thật: `[zalo] mode = "webhook"` (docs/deploy.md). / In '
                       'production use mode = "webhook".')
    return Finding(OK, f"{name}: polling, không có webhook / polling, no webhook")


async def _call(work: Awaitable[object]) -> object:
    import asyncio

    try:
        return await asyncio.wait_for(work, TIMEOUT)
    except TimeoutError:
        raise ZaloNetworkError("call", "timed out") from None


# -- disk and database ------------------------------------------------------------------------


def _disk(database: Path) -> Finding:
    where = database.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    shown = f"{free / 1024 ** 3:.1f} GB"
    if free < DISK_FAIL_BYTES:
        return Finding(FAIL, f"Ổ đĩa gần đầy / disk nearly full: còn {shown} tại {where}",
                       "Giải phóng chỗ (bản sao lưu cũ, nhật ký) hoặc chuyển dữ liệu sang ổ "
                       "khác. / Free space (old backups, logs) or move the data.")
    if free < DISK_WARN_BYTES:
        return Finding(WARN, f"Ổ đĩa còn ít / little disk space: {shown} tại {where}")
    return Finding(OK, f"Ổ đĩa còn {shown} / disk free at {where}")


def _database(path: Path) -> list[Finding]:
    if not path.exists():
        return [Finding(INFO, f"Chưa có cơ sở dữ liệu {path}: `run` hoặc `migrate` sẽ tạo / "
                              "no database yet; run or migrate creates it")]
    try:
        check, applied = backups.file_health(path)
    except sqlite3.Error as exc:
        return [Finding(FAIL, f"Không mở được cơ sở dữ liệu {path} / cannot open the database "
                              f"({type(exc).__name__}: {exc})", _RESTORE_FIX)]
    if check != ["ok"]:
        return [Finding(FAIL, f"Cơ sở dữ liệu bị hỏng / database integrity check failed: "
                              f"{'; '.join(check[:3])[:300]}", _RESTORE_FIX)]
    return [Finding(OK, f"Cơ sở dữ liệu toàn vẹn / database integrity ok: {path}"),
            _migrations(applied)]


def _backups(config: Config, database: Path) -> Finding:
    if config.backup_keep == 0:
        return Finding(WARN, "Không có sao lưu hằng ngày / no scheduled backups "
                             "(`[backup] keep = 0`)",
                       "Đặt `[backup] keep` (ví dụ 14) để bot tự sao lưu mỗi ngày. / Set "
                       "`[backup] keep`, e.g. 14.")
    last = backups.latest_backup_time(config.backup_dir, database)
    if last is None:
        return Finding(INFO, f"Chưa có bản sao lưu nào trong {config.backup_dir}: bot sao lưu khi "
                             "khởi động / no backup yet; the bot makes one at start")
    now = system_clock().astimezone(config.settings.timezone).replace(tzinfo=None)
    age = now - last
    if age.days >= 2:
        return Finding(WARN, f"Bản sao lưu mới nhất đã {age.days} ngày / the newest backup is "
                             f"{age.days} days old ({config.backup_dir})",
                       "Bot có đang chạy không? Xem nhật ký: \"scheduled backup failed\". / Is "
                       "the bot running? Look for \"scheduled backup failed\" in the logs.")
    return Finding(OK, f"Sao lưu mới nhất / newest backup: {last:%d/%m/%Y %H:%M} "
                       f"({config.backup_dir})")


_RESTORE_FIX = ("Dừng bot, khôi phục bản sao lưu gần nhất: `python -m bot restore BACKUP`. / "
                "Stop the bot and restore the latest backup with `python -m bot restore`.")


def _migrations(applied: set[str]) -> Finding:
    shipped = {f.stem for f in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")}
    newer = sorted(applied - shipped)
    if newer:
        return Finding(FAIL, f"Cơ sở dữ liệu mới hơn mã nguồn / the database has migrations this "
                             f"code does not know: {', '.join(newer)}",
                       "Mã đã bị hạ phiên bản? Chạy lại bản mới, hoặc khôi phục bản sao lưu "
                       "lấy trước khi nâng cấp. / Code downgraded? Run the newer code, or "
                       "restore the backup taken before the upgrade.")
    pending = sorted(shipped - applied)
    if pending:
        return Finding(INFO, f"{len(pending)} migration sẽ chạy khi khởi động (bot sao lưu trước) "
                             f"/ will run at start, after a backup: {', '.join(pending)}")
    return Finding(OK, f"Đủ {len(applied)} migration / all migrations applied")

