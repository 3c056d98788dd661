"""Readable outputs of a round: tables with names, a workbook and a web page."""
