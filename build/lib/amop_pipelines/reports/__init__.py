"""Result workbooks (openpyxl). No Dagster here."""
