Attribute VB_Name = "ClvRecompute"
' clv-xl: the Recompute button on the Start and Dashboard sheets runs RecomputeCLV.
' It asks the xlwings add-in to run one fixed Python command, which reads this book's
' Clients, Sessions and Contacts and writes the Forecast and Issues sheets (docs/button.md).
' The add-in is called by name (late binding), so the book opens, compiles and explains
' itself on a computer without the add-in, instead of failing with a compile error.
' (The module is not named like its macro: Excel could not tell the two apart.)
Option Explicit

Public Const RECOMPUTE_COMMAND As String = "import clv_xl.batch.excel_book as b; b.recompute_caller()"
Public Const ADDIN_MACRO As String = "'xlwings.xlam'!RunPython"

Public Sub RecomputeCLV()
    On Error GoTo Missing
    Application.Run ADDIN_MACRO, RECOMPUTE_COMMAND
    Exit Sub
Missing:
    MsgBox "Recompute needs Python with clv-xl and the xlwings add-in." & vbCrLf & vbCrLf & _
           "1. In a command prompt, in the clv-xl folder: pip install ." & vbCrLf & _
           "2. Then: xlwings addin install" & vbCrLf & _
           "3. Restart Excel, open this book and click Recompute again." & vbCrLf & vbCrLf & _
           "(Excel said: " & Err.Description & ")", vbExclamation, "clv-xl: Recompute"
End Sub
