"""The Engine API (version 1.41) served over a socket: a front like the CLI,
translating HTTP calls into the same statemachine calls. Imported only by
`mydocker system service` (aiohttp's import cost is paid by no other command)."""
