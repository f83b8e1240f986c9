"""The one error type for bad input: it names the field and carries a message in both languages."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input from a user or curator. `bot/`, `web/` and the CLI turn it into a friendly message."""

    def __init__(self, field: str, en: str, zh: str, *, row: int | None = None):
        self.field, self.en, self.zh, self.row = field, en, zh, row
        super().__init__(self.message("en"))

    def message(self, lang: str = "en") -> str:
        text = self.zh if lang == "zh" else self.en
        where = f"{self.field}"
        if self.row is not None:
            where = f"row {self.row}, {where}" if lang != "zh" else f"第 {self.row} 行, {where}"
        return f"{where}: {text}"

    def as_dict(self) -> dict:
        out = {"field": self.field, "en": self.en, "zh": self.zh}
        if self.row is not None:
            out["row"] = self.row
        return out
