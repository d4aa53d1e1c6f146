"""Result workbooks (XlsxWriter, streamed). No Dagster here."""
