/**
 * An Apache James configuration file (James 2.x config.xml, James 3.x mailetcontainer.xml)
 * read into a small ordered model: a processor is a list of mailets tried in the order the
 * file gives them, so the order of child elements is kept (fast-xml-parser's preserveOrder).
 * Comments, the XML declaration and processing instructions are dropped.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ConfigError, errorMessage } from '../errors.js';

export interface XmlElement {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  /** Child elements, in document order. */
  readonly children: readonly XmlElement[];
  /** The element's own text (CDATA included), trimmed; '' when it has none. */
  readonly text: string;
}

export interface XmlDocument {
  /** The top-level elements (a well-formed file has one). */
  readonly elements: readonly XmlElement[];
  /** Entities the DOCTYPE declares as other files (SYSTEM or PUBLIC): name → that file. */
  readonly externalEntities: ReadonlyMap<string, string>;
}

/** What fast-xml-parser's preserveOrder mode gives: one key per node (the tag name, or "#text"), attributes under ":@". */
type OrderedNode = Record<string, unknown>;

const TEXT = '#text';
const ATTRIBUTES = ':@';

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Values stay text: "007" is a name here, not the number 7.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

/** Reads `xml` (the file `file`); a file that is not XML is a ConfigError giving the parser's line and column. */
export function readXml(xml: string, file: string): XmlDocument {
  // The parser alone accepts much that is not XML (it returns nothing for plain text); its
  // validator finds the first mistake and where it is.
  const verdict = XMLValidator.validate(xml);
  if (verdict !== true) {
    const { line, col, msg } = verdict.err;
    const at = col === undefined ? `line ${line}` : `line ${line}, column ${col}`;
    throw new ConfigError(file, `not XML (${at}): ${msg}`);
  }
  const { text, externalEntities } = withoutExternalEntities(xml);
  let nodes: unknown;
  try {
    nodes = parser.parse(text);
  } catch (err) {
    throw new ConfigError(file, `not XML: ${errorMessage(err)}`);
  }
  return { elements: elementsOf(nodes), externalEntities };
}

/**
 * James 2.3's config.xml declares other files as entities in its DOCTYPE
 * (`<!ENTITY fetchmailConfig SYSTEM "../conf/james-fetchmail.xml">`), which fast-xml-parser
 * refuses outright. Those declarations are blanked out (spaces, so positions stay), and
 * their references are left in the text as `&name;` for the caller to point out.
 */
function withoutExternalEntities(xml: string): { text: string; externalEntities: Map<string, string> } {
  const externalEntities = new Map<string, string>();
  const doctype = doctypeSpan(xml);
  if (!doctype) return { text: xml, externalEntities };
  const declaration = /<!ENTITY\s+([^\s%"']+)\s+(?:SYSTEM\s+("[^"]*"|'[^']*')|PUBLIC\s+("[^"]*"|'[^']*')\s+("[^"]*"|'[^']*'))\s*>/g;
  const inside = xml.slice(doctype.start, doctype.end).replace(declaration, (whole, name: string, system?: string, _publicId?: string, publicFile?: string) => {
    externalEntities.set(name, (system ?? publicFile ?? '').slice(1, -1));
    return whole.replace(/[^\n]/g, ' ');
  });
  return { text: xml.slice(0, doctype.start) + inside + xml.slice(doctype.end), externalEntities };
}

/** Where the DOCTYPE declaration is: from `<!DOCTYPE` to its closing `>`, past its [internal subset], quotes and comments. */
function doctypeSpan(xml: string): { start: number; end: number } | null {
  const start = xml.indexOf('<!DOCTYPE');
  if (start === -1) return null;
  let depth = 0;
  let quote: string | null = null;
  for (let i = start + '<!DOCTYPE'.length; i < xml.length; i++) {
    const c = xml[i]!;
    if (quote !== null) {
      if (c === quote) quote = null;
    } else if (xml.startsWith('<!--', i)) {
      const close = xml.indexOf('-->', i + 4);
      if (close === -1) return null;
      i = close + 2;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '[') {
      depth++;
    } else if (c === ']') {
      depth--;
    } else if (c === '>' && depth === 0) {
      return { start, end: i + 1 };
    }
  }
  return null;
}

function elementsOf(nodes: unknown): XmlElement[] {
  if (!Array.isArray(nodes)) return [];
  return nodes.flatMap((node: OrderedNode) => {
    const name = Object.keys(node).find((key) => key !== ATTRIBUTES && key !== TEXT);
    return name === undefined ? [] : [elementOf(name, node)];
  });
}

function elementOf(name: string, node: OrderedNode): XmlElement {
  const content = Array.isArray(node[name]) ? (node[name] as OrderedNode[]) : [];
  const attributes = new Map<string, string>();
  const written = node[ATTRIBUTES];
  if (typeof written === 'object' && written !== null) {
    for (const [key, value] of Object.entries(written)) attributes.set(key, String(value));
  }
  const text = content
    .filter((child) => TEXT in child)
    .map((child) => String(child[TEXT]))
    .join('')
    .trim();
  return { name, attributes, children: elementsOf(content), text };
}

/** The first element named `name`, depth first, at or under `elements`. */
export function findElement(elements: readonly XmlElement[], name: string): XmlElement | undefined {
  for (const element of elements) {
    if (element.name === name) return element;
    const found = findElement(element.children, name);
    if (found) return found;
  }
  return undefined;
}

/** The children of `element` named `name`, in order. */
export function childrenNamed(element: XmlElement, name: string): XmlElement[] {
  return element.children.filter((child) => child.name === name);
}

/** An attribute's value, trimmed; undefined when it is missing or blank. */
export function attribute(element: XmlElement, name: string): string | undefined {
  const value = element.attributes.get(name)?.trim();
  return value ? value : undefined;
}
