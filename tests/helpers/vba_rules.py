"""The rules the VBA editor applies when it compiles a project, as far as a test can check them
from the source: what makes Excel say "Duplicate declaration in current scope", "Expected:
identifier", or "Cannot run the macro" before any line runs.

``problems(modules)`` takes ``{module name: (source, standard?)}`` and lists every breach:
- identifiers (procedure names, parameters, local Dim/Static/Const) are valid VBA names and not
  reserved words (MS-VBAL 3.3.5.2);
- within a procedure, parameters and locals are unique ignoring case (VBA names ignore case),
  and a Function or Property Get declares no parameter or local named like itself;
- within a module, procedures are unique ignoring case (Property Get/Let/Set may share one);
- module names are unique ignoring case, match their ``Attribute VB_Name``, and no module is
  named like a procedure of the project (Excel could not tell ``Name`` the macro from the module).

``macro_problems(macro, modules)``: a button's macro (``[0]!Name``, ``Name`` or ``Module.Name``)
must name exactly one public, argument-less Sub of a standard module.

The parser reads one logical line at a time (continuations joined, comments and string contents
blanked): enough for the modules this project writes and the ones xlwings generates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: MS-VBAL 3.3.5.2 reserved identifiers: statement and marker keywords, operators, literal
#: identifiers, reserved type names and reserved function names.
RESERVED = frozenset(w.casefold() for w in """
    Abs AddressOf And Any Array As Attribute Boolean ByRef Byte ByVal Call Case CBool CByte CCur
    CDate CDbl CDec CInt Circle CLng CLngLng CLngPtr Close Const CSng CStr Currency CVar CVErr
    Date Debug Decimal Declare DefBool DefByte DefCur DefDate DefDbl DefDec DefInt DefLng
    DefLngLng DefLngPtr DefObj DefSng DefStr DefVar Dim Do DoEvents Double Each Else ElseIf
    Empty End EndIf Enum Eqv Erase Error Event Exit False Fix For Friend Function Get Global
    GoSub GoTo If Imp Implements In Input InputB Int Integer Is LBound Len LenB Let Like Lock
    Long LongLong LongPtr Loop LSet Me Mod New Next Not Nothing Null Object On Open Option
    Optional Or ParamArray Preserve Print Private PtrSafe Public Put RaiseEvent ReDim Rem
    Resume Return RSet Scale Seek Select Set Sgn Shared Single Spc Static Stop String Sub Tab
    Then To True Type TypeOf UBound Unlock Until Variant Wend While With WithEvents Write Xor
""".split())

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,254}")
_HEADER = re.compile(
    r"^(?:(?P<scope>Public|Private|Friend)\s+)?(?:Static\s+)?"
    r"(?P<kind>Sub|Function|Property\s+(?:Get|Let|Set))\s+(?P<name>\w+)\s*"
    r"\((?P<params>.*)\)(?:\s+As\s+[\w.]+(?:\(\))?)?$", re.IGNORECASE)
_END = re.compile(r"^End\s+(?:Sub|Function|Property)$", re.IGNORECASE)
_DECLARE = re.compile(r"^(?:Dim|Static|Const|Private\s+Const|Public\s+Const)\s+(?P<rest>.*)$",
                      re.IGNORECASE)
_MODIFIERS = re.compile(r"^(?:(?:Optional|ByVal|ByRef|ParamArray|WithEvents)\s+)*", re.IGNORECASE)


@dataclass
class Procedure:
    module: str
    kind: str  # "Sub", "Function", "Property Get", ...
    name: str
    public: bool
    params: list[str] = field(default_factory=list)
    required: int = 0
    locals: list[str] = field(default_factory=list)


def logical_lines(source: str) -> list[str]:
    """Source lines with continuations joined, strings emptied and comments dropped."""
    out, pending = [], ""
    for raw in source.replace("\r\n", "\n").split("\n"):
        line = _code_part(raw)
        if line.endswith(" _"):
            pending += line[:-2] + " "
            continue
        out.append((pending + line).strip())
        pending = ""
    if pending:
        out.append(pending.strip())
    return out


def _code_part(line: str) -> str:
    """The line with each string literal's contents blanked and any comment removed."""
    code, in_string = [], False
    for ch in line:
        if ch == '"':
            in_string = not in_string
            code.append(ch)
        elif in_string:
            continue
        elif ch == "'":
            break
        else:
            code.append(ch)
    text = "".join(code).rstrip()
    return "" if re.match(r"^\s*Rem(\s|$)", text, re.IGNORECASE) else text


def _split_commas(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current)
    return [p.strip() for p in parts]


def _declared_name(item: str) -> str:
    return re.match(r"\w*", _MODIFIERS.sub("", item.strip())).group(0)


def procedures(module: str, source: str) -> tuple[list[Procedure], list[str]]:
    """The module's procedures, and its module-level declared names."""
    found, module_names, current = [], [], None
    for line in logical_lines(source):
        if not line or line.lower().startswith("attribute "):
            continue
        header = _HEADER.match(line)
        if header and current is None:
            params = _split_commas(header["params"])
            current = Procedure(
                module, " ".join(header["kind"].split()).title(), header["name"],
                (header["scope"] or "Public").lower() == "public",
                [_declared_name(p) for p in params],
                sum(not re.match(r"(Optional|ParamArray)\b", p, re.IGNORECASE) for p in params))
            continue
        if _END.match(line):
            if current is not None:
                found.append(current)
            current = None
            continue
        declared = _DECLARE.match(line)
        if declared is None and current is None:
            declared = re.match(r"^(?:Public|Private|Global)\s+(?!Sub|Function|Property|Declare|"
                                r"Enum|Type|Event)(?P<rest>.*)$", line, re.IGNORECASE)
        if declared:
            names = [_declared_name(d) for d in _split_commas(declared["rest"])]
            (current.locals if current is not None else module_names).extend(names)
    return found, module_names


def problems(modules: dict[str, tuple[str, bool]]) -> list[str]:
    """Every breach of the rules above in a project of ``{name: (source, standard?)}``."""
    out: list[str] = []
    seen_modules: dict[str, str] = {}
    all_procedures: list[Procedure] = []
    for module, (source, _standard) in modules.items():
        if module.casefold() in seen_modules:
            out.append(f"modules {seen_modules[module.casefold()]} and {module}: same name")
        seen_modules[module.casefold()] = module
        out += _name_problems(f"module {module}", [module])
        attribute = re.search(r'^Attribute VB_Name = "([^"]*)"', source, re.MULTILINE)
        if attribute is None or attribute.group(1) != module:
            out.append(f"module {module}: Attribute VB_Name is {attribute and attribute.group(1)!r}")
        procs, module_level = procedures(module, source)
        out += _name_problems(f"{module} (module level)", module_level)
        out += _duplicates(f"{module} (module level)", module_level + [p.name for p in procs
                                                                      if p.kind != "Property Let"
                                                                      and p.kind != "Property Set"])
        by_name: dict[tuple[str, str], Procedure] = {}
        for proc in procs:
            key = (proc.name.casefold(), proc.kind.split()[0] if proc.kind.startswith("Property")
                   else "proc")
            if key in by_name and not proc.kind.startswith("Property"):
                out.append(f"{module}.{proc.name}: declared twice")
            by_name[key] = proc
            where = f"{module}.{proc.name}"
            out += _name_problems(where, [proc.name] + proc.params + proc.locals)
            names = proc.params + proc.locals
            if proc.kind in ("Function", "Property Get"):
                names = names + [proc.name]
            out += _duplicates(where, names)
        all_procedures += procs
    for proc in all_procedures:
        if proc.name.casefold() in seen_modules:
            out.append(f"module {seen_modules[proc.name.casefold()]} is named like the procedure "
                       f"{proc.module}.{proc.name}")
    return out


def _name_problems(where: str, names: list[str]) -> list[str]:
    out = []
    for name in names:
        if not IDENTIFIER.fullmatch(name):
            out.append(f"{where}: {name!r} is not a VBA identifier")
        elif name.casefold() in RESERVED:
            out.append(f"{where}: {name!r} is a VBA reserved word")
    return out


def _duplicates(where: str, names: list[str]) -> list[str]:
    seen: dict[str, str] = {}
    out = []
    for name in names:
        if name.casefold() in seen:
            out.append(f"{where}: {seen[name.casefold()]!r} and {name!r} are one name to VBA "
                       "(Duplicate declaration in current scope)")
        seen.setdefault(name.casefold(), name)
    return out


def macro_problems(macro: str, modules: dict[str, tuple[str, bool]]) -> list[str]:
    """Why a button bound to ``macro`` would say "Cannot run the macro" (empty: it runs)."""
    name = re.sub(r"^(?:\[0\]|'[^']*'|[^!']*)!", "", macro)
    module_name, _, proc_name = name.rpartition(".")
    modules_by_key = {m.casefold(): m for m in modules}
    if not module_name and name.casefold() in modules_by_key:
        return [f"macro {macro!r} names the module {modules_by_key[name.casefold()]}: ambiguous"]
    candidates = []
    for module, (source, standard) in modules.items():
        if module_name and module.casefold() != module_name.casefold():
            continue
        if not module_name and not standard:
            continue  # a bare name finds only standard modules' procedures
        for proc in procedures(module, source)[0]:
            if proc.name.casefold() == proc_name.casefold():
                candidates.append(proc)
    if len(candidates) != 1:
        return [f"macro {macro!r}: {len(candidates)} procedures answer to it"]
    (proc,) = candidates
    if proc.kind != "Sub" or not proc.public or proc.required:
        return [f"macro {macro!r}: {proc.module}.{proc.name} is not a public Sub without arguments"]
    return []
