"""The formulas reach Excel with the right names, arguments, help and category.

(a) the REGISTRY that clv_xl.excel.function fills; (b) what xlwings' "Import Functions" would
generate: xlwings' decorators are inert off Windows, so the real ones (xlwings.udfs) are
imported over stub pywin32 modules and the VBA wrapper module is generated and parsed.
"""

from __future__ import annotations

import importlib
import inspect
import io
import re
import sys
import types

import pytest

import clv_xl.excel.function as excel_function
import clv_xl.excel.udfs as udfs

HELP_LIMIT = 255  # Excel's Application.MacroOptions Description / ArgumentDescriptions
EXPECTED = {
    "CLV": ["avg_order_value", "purchases", "acquisition_cost", "margin"],
    "TLV": ["avg_sale", "purchases_per_period", "periods", "referrals", "referral_value"],
    "RETENTION_CLV": ["margin_per_period", "retention_rate", "discount_rate", "periods"],
    "CHURN_RISK": ["days_since", "usual_interval", "cancel_share", "reply_rate_now",
                   "reply_rate_before", "upcoming", "settings"],
    "CHURN_REASON": ["days_since", "usual_interval", "cancel_share", "reply_rate_now",
                     "reply_rate_before", "upcoming", "settings"],
    "CHURN_BAND": ["score", "settings"],
    "LIFECYCLE_STAGE": ["completed", "days_since", "usual_interval", "score", "upcoming",
                        "settings"],
    "CLV_LEVERS": ["avg_order_value", "purchases", "acquisition_cost", "margin", "change"],
    "CLV_SUMMARY": ["sessions", "as_of", "settings"],
}
REQUIRED = {"CLV": 2, "TLV": 3, "RETENTION_CLV": 3, "CHURN_RISK": 1, "CHURN_REASON": 1,
            "CHURN_BAND": 1, "LIFECYCLE_STAGE": 2, "CLV_LEVERS": 2, "CLV_SUMMARY": 1}


def public_udfs(module):
    return {name: f for name, f in vars(module).items()
            if name.isupper() and callable(f) and not isinstance(f, type)}


def parameters(function):
    return list(inspect.signature(function).parameters.values())


ALL = sorted(public_udfs(udfs))  # the nine above and any formula added since


def expected_args(name):
    return EXPECTED.get(name) or [p.name for p in parameters(getattr(udfs, name))]


def n_required(name):
    found = sum(p.default is inspect.Parameter.empty for p in parameters(getattr(udfs, name)))
    if name in REQUIRED:
        assert found == REQUIRED[name], name
    return found


# --------------------------------------------------------------------------- (a) registry

def test_every_public_udf_is_registered():
    found = public_udfs(udfs)
    assert set(EXPECTED) <= set(found)
    registry = excel_function.REGISTRY
    assert set(found) <= set(registry)
    for name, function in found.items():
        assert registry[name].function is function, name
        assert registry[name].name == name


@pytest.mark.parametrize("name", ALL)
def test_registered_arguments_match_the_signature(name):
    entry = excel_function.REGISTRY[name]
    signature = [p.name for p in parameters(entry.function)]
    assert signature == expected_args(name)
    assert list(entry.args) == signature  # same names, same order
    for p in parameters(entry.function):
        assert p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, (name, p.name)
    n_required(name)


@pytest.mark.parametrize("name", ALL)
def test_optional_in_excel_means_optional_in_the_spec(name):
    """An argument Excel shows as Optional must take a blank cell as its default, and say so."""
    entry = excel_function.REGISTRY[name]
    for p, spec in zip(parameters(entry.function), entry.args.values()):
        optional = p.default is not inspect.Parameter.empty
        if getattr(spec, "required", None) is not None:
            assert spec.required is not optional, (name, p.name)
        if optional:
            assert spec.doc.startswith("Optional"), (name, p.name, spec.doc)


@pytest.mark.parametrize("name", ALL)
def test_help_and_argument_docs_fit_excel(name):
    entry = excel_function.REGISTRY[name]
    assert entry.help.strip() and "\n" not in entry.help.strip()
    assert len(entry.help) <= HELP_LIMIT, len(entry.help)
    assert entry.function.__doc__ is not None and len(entry.function.__doc__) <= HELP_LIMIT
    for arg, spec in entry.args.items():
        assert isinstance(spec.doc, str) and spec.doc.strip(), (name, arg)
        assert len(spec.doc) <= HELP_LIMIT, (name, arg, len(spec.doc))
        assert "\n" not in spec.doc


def test_argument_names_are_valid_vba_identifiers():
    for name in ALL:
        assert re.fullmatch(r"[A-Z][A-Z_]*", name)
        for arg in expected_args(name):
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,254}", arg), arg


# --------------------------------------------------------------------------- (b) xlwings

PYWIN32 = ("pythoncom", "pywintypes", "win32com", "win32com.client")


def _stub_pywin32():
    pythoncom = types.ModuleType("pythoncom")
    pythoncom.CoInitialize = lambda: None
    pythoncom.IID_IDispatch = object()
    pythoncom.CoMarshalInterThreadInterfaceInStream = lambda *a: None
    pythoncom.CoGetInterfaceAndReleaseStream = lambda *a: None
    pywintypes = types.ModuleType("pywintypes")
    pywintypes.com_error = type("com_error", (Exception,), {})
    win32com = types.ModuleType("win32com")
    client = types.ModuleType("win32com.client")
    client.Dispatch = lambda *a, **k: None
    win32com.client = client
    return {"pythoncom": pythoncom, "pywintypes": pywintypes, "win32com": win32com,
            "win32com.client": client}


@pytest.fixture
def windows_udfs():
    """clv_xl.excel.udfs decorated by xlwings' real (Windows) decorators; all undone afterwards."""
    import xlwings

    names = PYWIN32 + ("xlwings.udfs",)
    saved = {n: sys.modules[n] for n in names if n in sys.modules}
    had_attr = hasattr(xlwings, "udfs")
    saved_attr = getattr(xlwings, "udfs", None)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for name, module in _stub_pywin32().items():
                mp.setitem(sys.modules, name, module)
            mp.delitem(sys.modules, "xlwings.udfs", raising=False)
            xlwings_udfs = importlib.import_module("xlwings.udfs")
            mp.setattr(xlwings, "func", xlwings_udfs.xlfunc)
            mp.setattr(xlwings, "arg", xlwings_udfs.xlarg)
            mp.setattr(xlwings, "ret", xlwings_udfs.xlret)
            mp.setattr(xlwings, "sub", xlwings_udfs.xlsub)
            importlib.reload(excel_function)
            module = importlib.reload(udfs)
            yield xlwings_udfs, module
    finally:
        for name in names:
            sys.modules.pop(name, None)
        sys.modules.update(saved)
        if had_attr:
            xlwings.udfs = saved_attr
        elif hasattr(xlwings, "udfs"):
            del xlwings.udfs
        importlib.reload(excel_function)
        importlib.reload(udfs)


def test_fixture_leaves_the_inert_decorators_behind(windows_udfs):
    xlwings_udfs, module = windows_udfs
    assert hasattr(module.CLV, "__xlfunc__")


@pytest.mark.skipif(sys.platform.startswith("win"), reason="xlwings is live on Windows")
def test_after_the_fixture_udfs_are_plain_again():
    """Runs after the test above (file order): nothing of the stubs is left."""
    import xlwings

    assert all(n not in sys.modules or hasattr(sys.modules[n], "__file__") for n in PYWIN32)
    assert "xlwings.udfs" not in sys.modules
    assert not hasattr(udfs.CLV, "__xlfunc__")
    assert xlwings.func.__module__ == "xlwings"
    assert excel_function.REGISTRY["CLV"].function is udfs.CLV
    assert udfs.CLV(90, 3, 6, 0.2) == pytest.approx(52.8)


@pytest.mark.parametrize("name", ALL)
def test_xlwings_sees_category_arguments_and_docs(windows_udfs, name):
    _, module = windows_udfs
    function = getattr(module, name)
    info = function.__xlfunc__
    spec = excel_function.REGISTRY[name].args
    assert info["name"] == name
    assert info["category"] == "CLV"
    assert info["sub"] is False and info["async_mode"] is None
    assert [a["name"] for a in info["args"]] == expected_args(name)
    assert [a["pos"] for a in info["args"]] == list(range(len(expected_args(name))))
    for position, arg in enumerate(info["args"]):
        assert arg["doc"] == spec[arg["name"]].doc  # not xlwings' "Positional argument n"
        assert not arg["doc"].startswith("Positional argument")
        assert arg["vba"] is None and arg["vararg"] is False
        assert ("optional" in arg) == (position >= n_required(name)), arg["name"]
        if name in EXPECTED:
            expected_ndim = None if arg["name"] == "as_of" else 2
            assert arg["options"].get("ndim") == expected_ndim, arg["name"]
    assert info["ret"]["doc"] == excel_function.REGISTRY[name].help
    assert len(info["ret"]["doc"]) <= HELP_LIMIT


class FakeWorkbook:
    Name = "clv_template.xlsm"


def _vba(xlwings_udfs, module, workbook=FakeWorkbook()):
    out = io.StringIO()
    xlwings_udfs.generate_vba_wrapper("clv_xl.excel.udfs", module, out, workbook)
    return out.getvalue()


def test_import_functions_generates_one_vba_function_per_udf(windows_udfs):
    xlwings_udfs, module = windows_udfs
    vba = _vba(xlwings_udfs, module)
    headers = re.findall(r"^Function (\w+)\((.*)\)$", vba, flags=re.MULTILINE)
    assert sorted(n for n, _ in headers) == ALL
    assert set(EXPECTED) <= {n for n, _ in headers}
    assert len(re.findall(r"^End Function$", vba, flags=re.MULTILINE)) == len(ALL)
    assert "Sub " not in vba
    for name, arglist in headers:
        expected = [("Optional " if i >= n_required(name) else "") + a
                    for i, a in enumerate(expected_args(name))]
        assert arglist.split(", ") == expected, name


@pytest.mark.parametrize("name", ALL)
def test_each_vba_function_calls_its_python_udf(windows_udfs, name):
    xlwings_udfs, module = windows_udfs
    vba = _vba(xlwings_udfs, module)
    body = re.search(rf"^Function {name}\(.*?^End Function$", vba,
                     flags=re.MULTILINE | re.DOTALL).group(0)
    array = "Array(" + ", ".join(expected_args(name)) + ")"
    excel_call = (f'{name} = XLPy.CallUDF("clv_xl.excel.udfs", "{name}", {array}, ThisWorkbook, '
                  "Application.Caller)")
    other_call = f'{name} = XLPy.CallUDF("clv_xl.excel.udfs", "{name}", {array})'
    lines = [line.strip() for line in body.splitlines()]
    assert excel_call in lines
    assert other_call in lines
    assert "Application.Volatile" not in lines  # not volatile: recalculates only on change
    assert f"{name} = Err.Description" in lines


def test_generated_vba_lines_fit_vba(windows_udfs):
    xlwings_udfs, module = windows_udfs
    vba = _vba(xlwings_udfs, module)
    assert all(len(line) <= 1024 for line in vba.splitlines())


def test_xlwings_would_hand_missing_optionals_their_python_defaults(windows_udfs):
    """call_udf passes arg_info["optional"] for an omitted argument: it must be usable."""
    _, module = windows_udfs
    for name in ("CLV", "TLV", "RETENTION_CLV", "CHURN_RISK", "LIFECYCLE_STAGE", "CLV_LEVERS"):
        function = getattr(module, name)
        required = {"CLV": [[[90.0]], [[3.0]]], "TLV": [[[20.0]], [[12.0]], [[5.0]]],
                    "RETENTION_CLV": [[[100.0]], [[0.8]], [[0.1]]],
                    "CHURN_RISK": [[[40.0]]], "LIFECYCLE_STAGE": [[[3.0]], [[10.0]]],
                    "CLV_LEVERS": [[[90.0]], [[3.0]]]}[name]
        optional = [a["optional"] for a in function.__xlfunc__["args"][len(required):]]
        result = function(*required, *optional)
        assert not (isinstance(result, str) and result.startswith(f"{name}: ")), result
