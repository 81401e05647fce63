"""XML both ways: reading a buyer's XML safely and building a request body from fields.

Reading (STACK.md "XML from buyers", DESIGN §8.6): a new hardened lxml parser per call,
entities never resolved, no network, no DTD, no huge trees; a document with a DOCTYPE is
refused outright (an XXE does not resolve but still parses, hence the refusal).

Building: elements are created as data by lxml, so a value can never change the
document's structure; characters XML 1.0 cannot carry are dropped first.

Errors::

    AnswerError
     └── UnsafeXML   too large (code too_large) or a DOCTYPE (code unsafe_xml)
    AnswerError      malformed XML (code unreadable)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from lxml import etree

from pingtree.delivery.errors import AnswerError, AnswerErrorCode, UnsafeXML

__all__ = [
    "MAX_XML_BYTES",
    "XmlTarget",
    "build_xml",
    "is_xml_name",
    "parse_buyer_xml",
    "strip_xml_illegal",
]

#: largest XML answer read at all
MAX_XML_BYTES = 256 * 1024

# XML 1.0 Char: #x9 | #xA | #xD | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# An element or attribute name without a namespace prefix (a conservative NCName).
_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,127}")

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def strip_xml_illegal(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (most C0 controls, lone
    surrogates, U+FFFE/U+FFFF); everything else, markup characters included, is kept."""
    return _XML_ILLEGAL.sub("", text)


def is_xml_name(name: str) -> bool:
    """Whether ``name`` can be an element or attribute name (no namespace prefix; names
    starting with ``xml`` are reserved)."""
    return bool(_XML_NAME.fullmatch(name)) and not name.lower().startswith("xml")


def parse_buyer_xml(data: bytes) -> Any:
    """A buyer's XML answer as an lxml root element.

    Raises :class:`UnsafeXML` (code ``too_large``) above :data:`MAX_XML_BYTES`,
    :class:`UnsafeXML` (code ``unsafe_xml``) for a document with a DOCTYPE or internal
    DTD, and :class:`AnswerError` (code ``unreadable``) for malformed or empty XML.
    """
    if len(data) > MAX_XML_BYTES:
        raise UnsafeXML(f"XML answer over {MAX_XML_BYTES} bytes", AnswerErrorCode.TOO_LARGE)
    # a new parser per call: lxml parsers keep state and are not shared across threads
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_pis=True,
        remove_comments=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise AnswerError(AnswerErrorCode.UNREADABLE, f"malformed XML: {exc}") from None
    if root is None:
        raise AnswerError(AnswerErrorCode.UNREADABLE, "empty XML document")
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise UnsafeXML("XML answer with a DOCTYPE")
    return root


#: Where one value goes: element names from below the root, and an optional attribute of
#: the last element (``("contact", "phone")``, ``("applicant",) + "id"``).
XmlTarget = tuple[tuple[str, ...], str | None]


def build_xml(root: str, items: Sequence[tuple[XmlTarget, str]]) -> bytes:
    """An XML document: ``<root>`` holding each value at its target, in order.

    Elements sharing a path prefix share their parent elements (``contact/phone`` and
    ``contact/email`` go in one ``<contact>``); an attribute goes on the element its path
    names. Text is stripped of XML-illegal characters and escaped by lxml. Names must
    have been checked with :func:`is_xml_name` at compile time.
    """
    top = etree.Element(root)
    for (elements, attribute), text in items:
        node = top
        for name in elements:
            child = node.find(name)
            node = child if child is not None else etree.SubElement(node, name)
        if attribute is None:
            node.text = strip_xml_illegal(text)
        else:
            node.set(attribute, strip_xml_illegal(text))
    body: bytes = etree.tostring(top, encoding="UTF-8", xml_declaration=False)
    return _DECLARATION + body
