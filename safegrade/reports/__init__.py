"""Report renderers: figures gathered by the services (safegrade.services.reporting.circular, .oversight, .loop)
turned into the documents regulators use (docx, html, md, json, xlsx). Pure: no database here."""
