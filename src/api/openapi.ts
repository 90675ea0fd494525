import * as fs from 'fs';
import * as YAML from 'yaml';

// Reads an OpenAPI 3.0.x document and reduces it to what API Gateway can enforce: the routes,
// the required request parameters, and request body schemas as JSON Schema draft 4 (the dialect
// of API Gateway models). Anything API Gateway cannot express is rejected here, at synth, rather
// than silently ignored or failing later in a CloudFormation deployment.

/** HTTP methods API Gateway REST APIs support, as OpenAPI spells them. */
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'];

/** Draft 4 `format` values; OpenAPI-only formats (int32, binary, uuid...) are dropped. */
const DRAFT4_FORMATS = new Set(['date-time', 'email', 'hostname', 'ipv4', 'ipv6', 'uri']);

/** Schema keywords copied as they are: OpenAPI 3.0 and draft 4 mean the same by them. */
const COPIED_KEYWORDS = new Set([
  'title', 'description', 'enum', 'multipleOf', 'maximum', 'minimum', 'maxLength', 'minLength', 'pattern',
  'maxItems', 'minItems', 'uniqueItems', 'maxProperties', 'minProperties',
]);

/** Annotations without effect on validation; dropped. */
const DROPPED_KEYWORDS = new Set(['example', 'externalDocs', 'xml', 'deprecated', 'readOnly', 'writeOnly', 'discriminator', 'default']);

/** A JSON value of a parsed document. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** One documented operation. */
export interface OpenApiOperation {
  /** Path as documented, e.g. `/items/{id}`; `/` for the root. */
  readonly path: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The operationId, if documented. */
  readonly operationId?: string;
  /** Names of the path parameters, in path order. */
  readonly pathParameters: string[];
  /** API Gateway method request parameters (`method.request.querystring.q`) and whether required. */
  readonly requestParameters: Record<string, boolean>;
  /** JSON Schema draft 4 of the request body, by content type (`$default` for any other type). */
  readonly bodySchemas: Record<string, JsonObject>;
}

/** The routes of a document. */
export interface OpenApiRoutes {
  /** `info.title`. */
  readonly title?: string;
  /** Every operation, in document order. */
  readonly operations: OpenApiOperation[];
}

class DocumentError extends Error {}

/** Reads, parses and checks the OpenAPI document at `file`. Throws an Error naming the problem. */
export function loadOpenApiDocument(file: string, prop = 'api.openApiDocument'): OpenApiRoutes {
  const fail = (msg: string): never => {
    throw new Error(`${prop} '${file}': ${msg}`);
  };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf-8');
  } catch (e) {
    return fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); give a path to an OpenAPI 3.0 YAML or JSON file.`);
  }
  let doc: Json;
  try {
    // YAML 1.2 is a superset of JSON, so one parser reads both. Duplicate keys are errors.
    doc = YAML.parse(text, { uniqueKeys: true, maxAliasCount: 100 }) as Json;
  } catch (e) {
    return fail(`is not valid YAML or JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return readDocument(doc);
  } catch (e) {
    if (e instanceof DocumentError) return fail(e.message);
    throw e;
  }
}

function isObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readDocument(doc: Json): OpenApiRoutes {
  if (!isObject(doc)) throw new DocumentError('the document is not a YAML/JSON object.');
  if ('swagger' in doc) {
    throw new DocumentError(`Swagger/OpenAPI ${String(doc.swagger)} is not supported; convert the document to OpenAPI 3.0.x.`);
  }
  const version = doc.openapi;
  if (typeof version !== 'string') throw new DocumentError("has no 'openapi' version field; only OpenAPI 3.0.x documents are supported.");
  if (!/^3\.0\.\d+$/.test(version)) {
    throw new DocumentError(`OpenAPI ${version} is not supported: API Gateway models are JSON Schema draft 4, which matches OpenAPI 3.0.x; write the document as 3.0.x.`);
  }
  if ('webhooks' in doc) throw new DocumentError("'webhooks' is an OpenAPI 3.1 feature; remove it.");
  const paths = doc.paths;
  if (!isObject(paths) || Object.keys(paths).length === 0) throw new DocumentError("has no 'paths'; document at least one path.");

  const resolver = new RefResolver(doc);
  const operations: OpenApiOperation[] = [];
  const seenPaths = new Map<string, string>();
  // Resource names by parent path: API Gateway allows one variable name per level.
  const variablesByParent = new Map<string, string>();

  for (const [rawPath, rawItem] of Object.entries(paths)) {
    if (rawPath.startsWith('x-')) continue;
    const segments = checkPath(rawPath);
    const normalized = '/' + segments.join('/');
    const clash = seenPaths.get(normalized.replace(/\{[^}]+\}/g, '{}'));
    if (clash !== undefined) {
      throw new DocumentError(`paths '${rawPath}' and '${clash}' are the same API Gateway resource; merge them.`);
    }
    seenPaths.set(normalized.replace(/\{[^}]+\}/g, '{}'), rawPath);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i];
      if (!seg.startsWith('{')) continue;
      const parent = '/' + segments.slice(0, i).join('/');
      const other = variablesByParent.get(parent);
      if (other !== undefined && other !== seg) {
        throw new DocumentError(`path '${rawPath}' uses ${seg} where another path uses ${other} under '${parent}'; API Gateway allows one variable name per path level, so use the same name.`);
      }
      variablesByParent.set(parent, seg);
    }

    const item = resolver.deref(rawItem, `#/paths/${pointerEscape(rawPath)}`);
    if (!isObject(item)) throw new DocumentError(`path '${rawPath}' is not an object.`);
    const pathParameters = segments.filter((s) => s.startsWith('{')).map((s) => s.replace(/[{}+]/g, ''));
    const sharedParams = readParameterList(resolver, item.parameters, `path '${rawPath}'`);

    let methodCount = 0;
    for (const [key, rawOp] of Object.entries(item)) {
      if (key === 'parameters' || key === 'summary' || key === 'description' || key === 'servers' || key.startsWith('x-')) continue;
      if (key === 'trace') throw new DocumentError(`path '${rawPath}' documents TRACE, which API Gateway REST APIs do not support; remove it.`);
      if (!METHODS.includes(key)) throw new DocumentError(`path '${rawPath}' has an unknown field '${key}'.`);
      const where = `${key.toUpperCase()} ${rawPath}`;
      const op = resolver.deref(rawOp, `#/paths/${pointerEscape(rawPath)}/${key}`);
      if (!isObject(op)) throw new DocumentError(`${where} is not an object.`);
      if ('callbacks' in op) throw new DocumentError(`${where} has callbacks, which API Gateway cannot express; remove them.`);

      // Operation parameters override path-level ones of the same name and location.
      const params = new Map(sharedParams);
      for (const [k, v] of readParameterList(resolver, op.parameters, where)) params.set(k, v);
      const requestParameters: Record<string, boolean> = {};
      for (const name of pathParameters) requestParameters[`method.request.path.${name}`] = true;
      for (const param of params.values()) {
        if (param.in === 'path') {
          if (!pathParameters.includes(param.name)) {
            throw new DocumentError(`${where} documents path parameter '${param.name}', which is not in the path.`);
          }
          continue;
        }
        const location = param.in === 'query' ? 'querystring' : 'header';
        requestParameters[`method.request.${location}.${param.name}`] = param.required;
      }

      operations.push({
        path: normalized,
        method: key.toUpperCase(),
        operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
        pathParameters,
        requestParameters,
        bodySchemas: readRequestBody(resolver, op.requestBody, where),
      });
      methodCount++;
    }
    if (methodCount === 0) throw new DocumentError(`path '${rawPath}' documents no operation; remove it or add one.`);
  }
  const title = isObject(doc.info) && typeof doc.info.title === 'string' ? doc.info.title : undefined;
  return { title, operations };
}

/** Splits a documented path into API Gateway path parts, rejecting what a resource cannot be. */
function checkPath(rawPath: string): string[] {
  if (!rawPath.startsWith('/')) throw new DocumentError(`path '${rawPath}' must start with '/'.`);
  if (rawPath === '/') return [];
  if (rawPath.endsWith('/')) throw new DocumentError(`path '${rawPath}' ends with '/'; API Gateway does not tell '/a/' from '/a', so document it without the trailing slash.`);
  const segments = rawPath.slice(1).split('/');
  segments.forEach((seg, i) => {
    if (seg === '') throw new DocumentError(`path '${rawPath}' has an empty segment.`);
    if (seg.includes('{') || seg.includes('}')) {
      const m = /^\{([A-Za-z0-9._-]+)(\+?)\}$/.exec(seg);
      if (!m) {
        throw new DocumentError(`path '${rawPath}': segment '${seg}' mixes a template with text; API Gateway path parameters must be whole segments such as '{id}'.`);
      }
      if (m[2] === '+' && i !== segments.length - 1) {
        throw new DocumentError(`path '${rawPath}': the greedy parameter '${seg}' must be the last segment.`);
      }
    } else if (!/^[A-Za-z0-9._:@$&,;=!'()*~-]+$/.test(seg)) {
      throw new DocumentError(`path '${rawPath}': segment '${seg}' has characters API Gateway does not allow in a resource path.`);
    }
  });
  return segments;
}

interface Parameter {
  readonly name: string;
  readonly in: string;
  readonly required: boolean;
}

function readParameterList(resolver: RefResolver, list: Json | undefined, where: string): Map<string, Parameter> {
  const result = new Map<string, Parameter>();
  if (list === undefined) return result;
  if (!Array.isArray(list)) throw new DocumentError(`${where}: 'parameters' must be a list.`);
  list.forEach((raw, i) => {
    const p = resolver.deref(raw, `${where} parameters[${i}]`);
    if (!isObject(p) || typeof p.name !== 'string' || typeof p.in !== 'string') {
      throw new DocumentError(`${where}: parameters[${i}] needs a 'name' and an 'in'.`);
    }
    if (p.in === 'cookie') {
      throw new DocumentError(`${where}: cookie parameter '${p.name}' cannot be validated by API Gateway; remove it from the document (the app can still read the cookie).`);
    }
    if (!['path', 'query', 'header'].includes(p.in)) throw new DocumentError(`${where}: parameter '${p.name}' has an unknown location '${p.in}'.`);
    if (!/^[A-Za-z0-9._-]+$/.test(p.name)) {
      throw new DocumentError(`${where}: parameter name '${p.name}' has characters API Gateway does not accept in a request parameter; use letters, digits, '.', '_' or '-'.`);
    }
    result.set(`${p.in}:${p.in === 'header' ? p.name.toLowerCase() : p.name}`, { name: p.name, in: p.in, required: p.in === 'path' || p.required === true });
  });
  return result;
}

function readRequestBody(resolver: RefResolver, raw: Json | undefined, where: string): Record<string, JsonObject> {
  if (raw === undefined) return {};
  const body = resolver.deref(raw, `${where} requestBody`);
  if (!isObject(body) || !isObject(body.content)) throw new DocumentError(`${where}: requestBody needs a 'content' map.`);
  const schemas: Record<string, JsonObject> = {};
  const jsonTypes: string[] = [];
  for (const [mediaType, media] of Object.entries(body.content)) {
    if (!isObject(media)) throw new DocumentError(`${where}: requestBody content '${mediaType}' is not an object.`);
    const isJson = /^application\/(?:[\w.+-]+\+)?json$/i.test(mediaType);
    if (mediaType === '*/*' || isJson) {
      if (media.schema === undefined) continue;
      const schema = convertSchema(resolver, media.schema, `${where} requestBody '${mediaType}'`, []);
      schemas[mediaType === '*/*' ? '$default' : mediaType] = schema;
      if (isJson) jsonTypes.push(mediaType);
    }
    // Other media types (forms, multipart, text) have no JSON Schema check in API Gateway:
    // they reach the app unvalidated, as the document allows them.
  }
  const otherTypes = Object.keys(body.content).filter((t) => t !== '*/*' && !jsonTypes.includes(t));
  // A required body documented only as JSON: validate every content type against the schema, so
  // a client cannot skip validation by sending another Content-Type.
  if (body.required === true && otherTypes.length === 0 && jsonTypes.length === 1 && schemas.$default === undefined) {
    schemas.$default = schemas[jsonTypes[0]];
  }
  return schemas;
}

/** Converts an OpenAPI 3.0 Schema Object to a self-contained JSON Schema draft 4 object. */
function convertSchema(resolver: RefResolver, raw: Json | undefined, where: string, refStack: string[]): JsonObject {
  if (typeof raw === 'boolean') throw new DocumentError(`${where}: boolean schemas are OpenAPI 3.1; use {} instead of true.`);
  if (!isObject(raw)) throw new DocumentError(`${where}: a schema must be an object.`);
  if (typeof raw.$ref === 'string') {
    const ref = raw.$ref;
    if (refStack.includes(ref)) {
      throw new DocumentError(`${where}: schema '${ref}' refers to itself (${[...refStack, ref].join(' -> ')}); API Gateway models are inlined here, so recursive schemas are not supported.`);
    }
    return convertSchema(resolver, resolver.resolve(ref, where), `${where} -> ${ref}`, [...refStack, ref]);
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('x-') || DROPPED_KEYWORDS.has(key) || key === 'nullable') continue;
    if (COPIED_KEYWORDS.has(key)) {
      out[key] = value;
    } else if (key === 'type') {
      if (Array.isArray(value)) throw new DocumentError(`${where}: 'type' lists ${JSON.stringify(value)}, which is OpenAPI 3.1; in 3.0 use one type and 'nullable: true'.`);
      if (!['string', 'number', 'integer', 'boolean', 'array', 'object'].includes(String(value))) {
        throw new DocumentError(`${where}: unknown type '${String(value)}'.`);
      }
      out.type = value;
    } else if (key === 'exclusiveMinimum' || key === 'exclusiveMaximum') {
      if (typeof value !== 'boolean') throw new DocumentError(`${where}: numeric '${key}' is OpenAPI 3.1; in 3.0 it is a boolean next to minimum/maximum.`);
      out[key] = value;
    } else if (key === 'format') {
      if (typeof value === 'string' && DRAFT4_FORMATS.has(value)) out.format = value;
    } else if (key === 'required') {
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new DocumentError(`${where}: 'required' must list property names.`);
      out.required = value;
    } else if (key === 'properties') {
      if (!isObject(value)) throw new DocumentError(`${where}: 'properties' must be an object.`);
      const props: JsonObject = {};
      for (const [name, sub] of Object.entries(value)) props[name] = convertSchema(resolver, sub, `${where}.${name}`, refStack);
      out.properties = props;
    } else if (key === 'items') {
      if (Array.isArray(value)) throw new DocumentError(`${where}: 'items' must be one schema in OpenAPI 3.0, not a list.`);
      out.items = convertSchema(resolver, value, `${where}[]`, refStack);
    } else if (key === 'additionalProperties') {
      out.additionalProperties = typeof value === 'boolean' ? value : convertSchema(resolver, value, `${where}.*`, refStack);
    } else if (key === 'allOf' || key === 'anyOf' || key === 'oneOf') {
      if (!Array.isArray(value) || value.length === 0) throw new DocumentError(`${where}: '${key}' must be a non-empty list of schemas.`);
      out[key] = value.map((sub, i) => convertSchema(resolver, sub, `${where} ${key}[${i}]`, refStack));
    } else if (key === 'not') {
      out.not = convertSchema(resolver, value, `${where} not`, refStack);
    } else {
      throw new DocumentError(`${where}: schema keyword '${key}' is not part of OpenAPI 3.0 (or not supported by API Gateway models); remove it.`);
    }
  }
  if (raw.nullable === true) {
    // OpenAPI 3.0 'nullable' is draft 4's type list with 'null'.
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  }
  return out;
}

/** Resolves local `$ref`s (`#/components/...`); any other reference is rejected. */
class RefResolver {
  constructor(private readonly doc: JsonObject) {}

  /** Follows `$ref`s of a non-schema object (path item, parameter, request body). */
  public deref(value: Json | undefined, where: string): Json | undefined {
    const seen: string[] = [];
    let current = value;
    while (isObject(current) && typeof current.$ref === 'string') {
      if (seen.includes(current.$ref)) throw new DocumentError(`${where}: circular reference ${[...seen, current.$ref].join(' -> ')}.`);
      seen.push(current.$ref);
      current = this.resolve(current.$ref, where);
    }
    return current;
  }

  public resolve(ref: string, where: string): Json {
    if (!ref.startsWith('#/')) {
      throw new DocumentError(`${where}: external reference '${ref}' is not supported; bundle the document into one file (for example with 'redocly bundle') so every $ref starts with '#/'.`);
    }
    let node: Json | undefined = this.doc;
    for (const part of ref.slice(2).split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))) {
      node = isObject(node) ? node[part] : Array.isArray(node) ? node[Number(part)] : undefined;
      if (node === undefined) throw new DocumentError(`${where}: reference '${ref}' points to nothing in the document.`);
    }
    return node as Json;
  }
}

function pointerEscape(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
