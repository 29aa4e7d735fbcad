"""The other names the Sessions columns and statuses go by in real exports.

Beside :mod:`clv_xl.book.schema` (which declares what a book holds), this module declares how
the exports of booking, point-of-sale, shop and payment systems (Square, Shopify orders,
Acuity, Mindbody, Stripe payments, a generic sheet) name the same things, in English and a
few other languages (German, French, Spanish, Latvian, Japanese). Names are compared with
:func:`~clv_xl.engine.units.fold` (case, spaces and punctuation ignored) after a trailing
parenthesis is dropped ("Amount (USD)" is "Amount", "Created (UTC)" is "Created").

Order matters: for each column the first name found in a header wins, so an id column
("Customer ID") is preferred to an email, and an email to a name.
"""

from __future__ import annotations

from .schema import STATUSES

#: Sessions key -> the header names that mean it, best first.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "date": (
        "Date", "Session date", "Appointment date", "Booking date", "Class date", "Visit date",
        "Order date", "Start time", "Start date", "Start", "Created at", "Created",
        "Transaction date", "Payment date", "Paid at", "Processed at", "Sale date",
        "Date time", "Datetime", "Time",
        "Datum", "Termin", "Bestelldatum", "Rechnungsdatum",  # de
        "Date de la séance", "Date de commande", "Date du rendez-vous",  # fr
        "Fecha", "Fecha de la cita", "Fecha del pedido",  # es
        "Datums", "Pasūtījuma datums",  # lv
        "日付", "日時", "予約日", "注文日",  # ja
    ),
    "client_id": (
        "Client ID", "Customer ID", "Member ID", "Client number", "Customer number",
        "Customer reference ID", "Client", "Customer", "Member",
        "Customer email", "Client email", "Email", "E-mail", "Email address",
        "Customer name", "Client name", "Billing name", "Full name",
        "Kunden-ID", "Kundennummer", "Kunde", "Kundin", "E-Mail-Adresse",  # de
        "ID client", "Numéro client", "Client·e", "Courriel", "Adresse e-mail",  # fr
        "ID de cliente", "ID cliente", "Cliente", "Correo electrónico", "Correo",  # es
        "Klienta ID", "Klients", "Klients ID", "E-pasts",  # lv
        "顧客ID", "顧客番号", "会員ID", "顧客", "お客様", "顧客名", "メールアドレス",  # ja
    ),
    "package": (
        "Package", "Service", "Service name", "Appointment type", "Type", "Class", "Class name",
        "Item", "Item name", "Product", "Lineitem name", "Description", "Pricing option",
        "Paket", "Leistung", "Dienstleistung", "Artikel", "Beschreibung",  # de
        "Forfait", "Prestation", "Produit", "Libellé",  # fr
        "Paquete", "Servicio", "Producto", "Descripción", "Concepto",  # es
        "Pakete", "Pakalpojums", "Produkts", "Apraksts",  # lv
        "パッケージ", "サービス", "メニュー", "商品", "商品名", "内容",  # ja
    ),
    "amount": (
        "Amount", "Total", "Price", "Appointment price", "Amount paid", "Amount paid online",
        "Paid", "Payment amount", "Net sales", "Gross sales", "Total collected", "Net total",
        "Sale amount", "Revenue", "Value", "Item total", "Total paid", "Line total",
        "Item price", "Subtotal", "Converted amount",
        "Betrag", "Summe", "Gesamt", "Gesamtbetrag", "Preis", "Umsatz",  # de
        "Montant", "Prix", "Total TTC", "Montant TTC",  # fr
        "Importe", "Monto", "Precio", "Total pagado",  # es
        "Summa", "Cena", "Kopā", "Kopsumma",  # lv
        "金額", "合計", "合計金額", "価格", "料金", "売上",  # ja
    ),
    "status": (
        "Status", "Appointment status", "Booking status", "Visit status", "Session status",
        "Payment status", "Financial status", "Event type", "Transaction type",
        "Zustand", "Buchungsstatus",  # de
        "Statut", "État",  # fr
        "Estado", "Estatus",  # es
        "Statuss", "Stāvoklis",  # lv
        "ステータス", "状態", "状況",  # ja
    ),
}

#: Clients key -> header names (only what an export can tell about a client).
CLIENT_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("Client name", "Customer name", "Billing name", "Full name", "Name", "Client",
             "Customer", "Kunde", "Nom", "Nombre", "Vārds", "氏名", "名前", "お名前"),
    "first_name": ("First name", "Given name", "Vorname", "Prénom", "Nombre de pila",
                   "Vārds", "名"),
    "last_name": ("Last name", "Surname", "Family name", "Nachname", "Nom de famille",
                  "Apellido", "Apellidos", "Uzvārds", "姓"),
}

#: A column of partial refunds beside the amount (Stripe "Amount Refunded", Shopify
#: "Refunded Amount"): subtracted from the amount of its row.
REFUNDED_ALIASES = ("Amount refunded", "Refunded amount", "Refunded", "Refund amount",
                    "Partial refunds",
                    "Erstattet", "Montant remboursé", "Importe reembolsado")

REFUND = "Refund"  # a refund: lowers revenue, is not a session
SKIP = "Not a session"  # a failed or voided payment: left out with a warning

#: Canonical status (one of the schema's STATUSES, or REFUND/SKIP) -> the words for it.
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "Completed": (
        "Completed", "Complete", "Done", "Attended", "Arrived", "Checked in", "Signed in",
        "Visited", "Paid", "Succeeded", "Success", "Successful", "Captured", "Fulfilled",
        "Closed", "Payment", "Sale", "Charge", "Partially refunded", "Partially paid",
        "Abgeschlossen", "Erledigt", "Bezahlt", "Erschienen",  # de
        "Terminé", "Terminée", "Effectué", "Payé", "Réalisé",  # fr
        "Completado", "Completada", "Pagado", "Realizado", "Asistió",  # es
        "Pabeigts", "Apmaksāts", "Notika", "Ieradās",  # lv
        "完了", "支払済み", "支払い済み", "来店", "済",  # ja
    ),
    "Cancelled": (
        "Cancelled", "Canceled", "Cancellation", "Late cancel", "Late cancelled",
        "Late canceled", "No show", "No-show", "Noshow", "Missed", "Absent", "Did not attend",
        "Storniert", "Abgesagt", "Nicht erschienen",  # de
        "Annulé", "Annulée", "Non présenté", "Absent·e",  # fr
        "Cancelado", "Cancelada", "No asistió", "No se presentó",  # es
        "Atcelts", "Neieradās",  # lv
        "キャンセル", "無断キャンセル", "取消",  # ja
    ),
    "Rescheduled": (
        "Rescheduled", "Moved", "Verschoben", "Reporté", "Reportée", "Reprogramado",
        "Reprogramada", "Pārcelts", "変更", "日程変更",
    ),
    "Booked": (
        "Booked", "Scheduled", "Confirmed", "Upcoming", "Pending", "Reserved", "Authorized",
        "Requested", "Open", "Unpaid",
        "Gebucht", "Bestätigt", "Reserviert", "Offen",  # de
        "Réservé", "Réservée", "Confirmé", "En attente",  # fr
        "Reservado", "Reservada", "Confirmado", "Pendiente",  # es
        "Rezervēts", "Apstiprināts",  # lv
        "予約済み", "予約", "確定", "未払い",  # ja
    ),
    REFUND: (
        "Refunded", "Refund", "Fully refunded", "Returned", "Chargeback", "Disputed",
        "Erstattet", "Rückerstattet", "Erstattung", "Remboursé", "Remboursement",
        "Reembolsado", "Reembolso", "Atmaksāts", "Atmaksa", "返金", "返金済み",
    ),
    SKIP: (
        "Failed", "Declined", "Voided", "Void", "Expired", "Abandoned", "Uncaptured",
        "Fehlgeschlagen", "Abgelehnt", "Échoué", "Refusé", "Fallido", "Rechazado",
        "Neizdevās", "失敗",
    ),
}

assert set(STATUSES) <= set(STATUS_WORDS)
