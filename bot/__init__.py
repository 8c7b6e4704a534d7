"""Runtime of Đối thoại bot: config, channels, scheduler, matching, digest, exports, CLI."""
