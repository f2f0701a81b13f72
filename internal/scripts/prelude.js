// The helpers a gatehouse script can use, built once per runtime on the Go
// natives passed in. Scripts never see `native`: it lives in these closures.
(function (native) {
  'use strict';

  var hasOwn = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); };

  // ---- bounds on bulk built-ins ---------------------------------------------
  // goja interrupts JavaScript, not the Go code of a built-in: one call of
  // fill, repeat or join on a huge input would run (and allocate) to the
  // end before the time limit or the memory watchdog could act. These
  // wrappers refuse such calls up front, as V8 refuses an invalid length.
  var MAX_ELEMENTS = 1 << 24, MAX_CHARS = 1 << 27, MAX_BYTES = 1 << 26;
  function tooBig(what) { throw new RangeError('gatehouse: ' + what + ' is larger than scripts may build'); }
  function lengthOf(v) { var n = v === null || v === undefined ? 0 : Number(v.length); return n > 0 ? n : 0; }
  function wrap(owner, name, check) {
    var original = owner[name];
    Object.defineProperty(owner, name, {
      value: { [name]: function () { check.apply(this, arguments); return original.apply(this, arguments); } }[name],
      writable: true, configurable: true, enumerable: false,
    });
  }
  wrap(Array.prototype, 'fill', function () { if (lengthOf(this) > MAX_ELEMENTS) tooBig('array'); });
  wrap(Array.prototype, 'join', function (sep) {
    var n = lengthOf(this);
    if (n > MAX_ELEMENTS) tooBig('array');
    var total = n * (sep === undefined ? 1 : String(sep).length);
    for (var i = 0; i < n; i++) {
      var el = this[i];
      if (typeof el === 'string') total += el.length;
      if (total > MAX_CHARS) tooBig('string');
    }
  });
  wrap(Array, 'from', function (items) { if (lengthOf(items) > MAX_ELEMENTS) tooBig('array'); });
  wrap(String.prototype, 'repeat', function (count) { if (String(this).length * Number(count) > MAX_CHARS) tooBig('string'); });
  wrap(String.prototype, 'padStart', function (len) { if (Number(len) > MAX_CHARS) tooBig('string'); });
  wrap(String.prototype, 'padEnd', function (len) { if (Number(len) > MAX_CHARS) tooBig('string'); });
  // A subclass rather than a Proxy: goja's instanceof needs a real
  // function, and subclass instances still pass instanceof the original.
  function boundedConstructor(C, name) {
    return {
      [name]: class extends C {
        constructor(a) {
          if (typeof a === 'number' && a * (C.BYTES_PER_ELEMENT || 1) > MAX_BYTES) tooBig('buffer');
          if (a !== null && typeof a === 'object' && !(a instanceof ArrayBuffer) && lengthOf(a) > MAX_ELEMENTS) tooBig('buffer');
          super(...arguments);
        }
      },
    }[name];
  }
  var bounded = {};
  ['ArrayBuffer', 'Uint8Array', 'Int8Array', 'Uint8ClampedArray', 'Uint16Array', 'Int16Array', 'Uint32Array',
    'Int32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array'].forEach(function (name) {
    if (typeof globalThis[name] === 'function') bounded[name] = boundedConstructor(globalThis[name], name);
  });

  // ---- Auth0's error constructors ----------------------------------------
  class UnauthorizedError extends Error {
    constructor(message) {
      super(message === undefined ? 'Unauthorized' : String(message));
      this.name = 'UnauthorizedError';
      this.code = 'unauthorized';
      this.statusCode = 401;
    }
  }
  class WrongUsernameOrPasswordError extends Error {
    constructor(userOrEmail, message) {
      super(message === undefined ? 'Wrong email or password.' : String(message));
      this.name = 'WrongUsernameOrPasswordError';
      this.code = 'invalid_user_password';
      this.statusCode = 401;
      this.user = userOrEmail;
    }
  }
  class ValidationError extends Error {
    constructor(code, message) {
      super(message === undefined ? String(code) : String(message));
      this.name = 'ValidationError';
      this.code = code;
      this.statusCode = 400;
    }
  }
  class InvalidPasswordError extends ValidationError {
    constructor(message) {
      super('invalid_password', message);
      this.name = 'InvalidPasswordError';
    }
  }

  // ---- Buffer --------------------------------------------------------------
  function toUint8(value) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    throw new TypeError('expected a Buffer, TypedArray or ArrayBuffer');
  }
  class Buffer extends bounded.Uint8Array {
    static from(value, encoding) {
      if (typeof value === 'string') return new Buffer(native.decode(value, encoding || 'utf8'));
      if (value instanceof ArrayBuffer) return new Buffer(value.slice(0));
      if (ArrayBuffer.isView(value)) {
        var copy = new Buffer(value.byteLength);
        copy.set(toUint8(value));
        return copy;
      }
      if (Array.isArray(value)) {
        var b = new Buffer(value.length);
        for (var i = 0; i < value.length; i++) b[i] = value[i] & 255;
        return b;
      }
      if (value && value.type === 'Buffer' && Array.isArray(value.data)) return Buffer.from(value.data);
      throw new TypeError('The first argument must be a string, Buffer, ArrayBuffer or Array');
    }
    static alloc(size, fill) {
      var b = new Buffer(size);
      if (fill !== undefined) b.fill(typeof fill === 'number' ? fill : Buffer.from(String(fill))[0]);
      return b;
    }
    static isBuffer(value) { return value instanceof Buffer; }
    static isEncoding(e) {
      return ['utf8', 'utf-8', 'hex', 'base64', 'base64url', 'latin1', 'binary', 'ascii'].indexOf(String(e).toLowerCase()) >= 0;
    }
    static byteLength(value, encoding) {
      return typeof value === 'string' ? Buffer.from(value, encoding).length : value.byteLength;
    }
    static concat(list, totalLength) {
      var total = 0, i;
      for (i = 0; i < list.length; i++) total += list[i].length;
      if (totalLength !== undefined) total = totalLength;
      var out = Buffer.alloc(total), off = 0;
      for (i = 0; i < list.length && off < total; i++) {
        var part = toUint8(list[i]);
        if (off + part.length > total) part = part.subarray(0, total - off);
        out.set(part, off);
        off += part.length;
      }
      return out;
    }
    static compare(a, b) { return a.compare(b); }
    toString(encoding, start, end) {
      var s = start === undefined ? 0 : start, e = end === undefined ? this.length : end;
      return native.encode(this.subarray(s, e), encoding || 'utf8');
    }
    toJSON() { return { type: 'Buffer', data: Array.from(this) }; }
    equals(other) { return this.compare(other) === 0; }
    compare(other) {
      var o = toUint8(other), n = Math.min(this.length, o.length);
      for (var i = 0; i < n; i++) if (this[i] !== o[i]) return this[i] < o[i] ? -1 : 1;
      return this.length === o.length ? 0 : (this.length < o.length ? -1 : 1);
    }
    slice(start, end) { return this.subarray(start, end); }
    write() { throw new Error('Buffer.write is not available in gatehouse'); }
  }

  // ---- crypto --------------------------------------------------------------
  class Hash {
    constructor(algorithm, key) {
      if (!native.hashAvailable(algorithm)) throw new Error('Digest method not supported');
      this._algorithm = algorithm;
      this._key = key;
      this._parts = [];
      this._done = false;
    }
    update(data, encoding) {
      if (this._done) throw new Error('Digest already called');
      this._parts.push(typeof data === 'string' ? Buffer.from(data, encoding || 'utf8') : Buffer.from(toUint8(data)));
      return this;
    }
    digest(encoding) {
      if (this._done) throw new Error('Digest already called');
      this._done = true;
      var data = Buffer.concat(this._parts);
      var raw = this._key === undefined ? native.hash(this._algorithm, data) : native.hmac(this._algorithm, this._key, data);
      var out = new Buffer(raw);
      return encoding ? out.toString(encoding) : out;
    }
  }
  function keyBytes(key) {
    return typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(toUint8(key));
  }
  var crypto = {
    createHash: function (algorithm) { return new Hash(algorithm); },
    createHmac: function (algorithm, key) { return new Hash(algorithm, keyBytes(key)); },
    randomBytes: function (size, callback) {
      var b = new Buffer(native.randomBytes(size));
      if (typeof callback === 'function') { setTimeout(callback, 0, null, b); return undefined; }
      return b;
    },
    randomUUID: function () { return native.randomUUID(); },
    timingSafeEqual: function (a, b) { return native.timingSafeEqual(toUint8(a), toUint8(b)); },
    getHashes: function () { return ['md5', 'sha1', 'sha256', 'sha384', 'sha512']; },
  };

  // ---- URL and URLSearchParams --------------------------------------------
  function formEncode(s) {
    return encodeURIComponent(s).replace(/[!'()~]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    }).replace(/%20/g, '+');
  }
  function formDecode(s) {
    try { return decodeURIComponent(s.replace(/\+/g, ' ')); } catch (e) { return s; }
  }
  class URLSearchParams {
    constructor(init) {
      this._list = [];
      this._onChange = null;
      if (init === undefined || init === null) return;
      if (typeof init === 'string') {
        var str = init.charAt(0) === '?' ? init.slice(1) : init;
        var pairs = str.split('&');
        for (var i = 0; i < pairs.length; i++) {
          if (pairs[i] === '') continue;
          var eq = pairs[i].indexOf('=');
          if (eq < 0) this._list.push([formDecode(pairs[i]), '']);
          else this._list.push([formDecode(pairs[i].slice(0, eq)), formDecode(pairs[i].slice(eq + 1))]);
        }
      } else if (init instanceof URLSearchParams) {
        this._list = init._list.map(function (p) { return [p[0], p[1]]; });
      } else if (Array.isArray(init)) {
        for (var j = 0; j < init.length; j++) this._list.push([String(init[j][0]), String(init[j][1])]);
      } else if (typeof init === 'object') {
        var keys = Object.keys(init);
        for (var k = 0; k < keys.length; k++) this._list.push([keys[k], String(init[keys[k]])]);
      }
    }
    _changed() { if (this._onChange) this._onChange(); }
    get size() { return this._list.length; }
    append(name, value) { this._list.push([String(name), String(value)]); this._changed(); }
    delete(name) { name = String(name); this._list = this._list.filter(function (p) { return p[0] !== name; }); this._changed(); }
    get(name) { name = String(name); for (var i = 0; i < this._list.length; i++) if (this._list[i][0] === name) return this._list[i][1]; return null; }
    getAll(name) { name = String(name); return this._list.filter(function (p) { return p[0] === name; }).map(function (p) { return p[1]; }); }
    has(name) { return this.get(name) !== null; }
    set(name, value) {
      name = String(name); value = String(value);
      var found = false, out = [];
      for (var i = 0; i < this._list.length; i++) {
        if (this._list[i][0] !== name) out.push(this._list[i]);
        else if (!found) { out.push([name, value]); found = true; }
      }
      if (!found) out.push([name, value]);
      this._list = out;
      this._changed();
    }
    sort() { this._list.sort(function (a, b) { return a[0] < b[0] ? -1 : (a[0] > b[0] ? 1 : 0); }); this._changed(); }
    forEach(fn, thisArg) { for (var i = 0; i < this._list.length; i++) fn.call(thisArg, this._list[i][1], this._list[i][0], this); }
    keys() { return this._list.map(function (p) { return p[0]; })[Symbol.iterator](); }
    values() { return this._list.map(function (p) { return p[1]; })[Symbol.iterator](); }
    entries() { return this._list.map(function (p) { return [p[0], p[1]]; })[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
    toString() { return this._list.map(function (p) { return formEncode(p[0]) + '=' + formEncode(p[1]); }).join('&'); }
  }
  class URL {
    constructor(input, base) {
      var p = native.parseURL(String(input), base === undefined ? undefined : String(base));
      this.protocol = p.protocol;
      this.username = p.username;
      this.password = p.password;
      this.hostname = p.hostname;
      this.port = p.port;
      this.pathname = p.pathname;
      this.hash = p.hash;
      this._search = p.search;
      var self = this;
      this.searchParams = new URLSearchParams(p.search);
      this.searchParams._onChange = function () {
        var s = self.searchParams.toString();
        self._search = s ? '?' + s : '';
      };
    }
    get search() { return this._search; }
    set search(v) {
      v = String(v);
      this._search = v === '' || v === '?' ? '' : (v.charAt(0) === '?' ? v : '?' + v);
      var fresh = new URLSearchParams(this._search);
      this.searchParams._list = fresh._list;
    }
    get host() { return this.port ? this.hostname + ':' + this.port : this.hostname; }
    get origin() { return this.protocol + '//' + this.host; }
    get href() {
      var auth = this.username ? this.username + (this.password ? ':' + this.password : '') + '@' : '';
      return this.protocol + '//' + auth + this.host + this.pathname + this._search + this.hash;
    }
    toString() { return this.href; }
    toJSON() { return this.href; }
  }

  var querystring = {
    parse: function (str) {
      var out = {};
      new URLSearchParams(String(str || '')).forEach(function (value, key) {
        if (!hasOwn(out, key)) out[key] = value;
        else if (Array.isArray(out[key])) out[key].push(value);
        else out[key] = [out[key], value];
      });
      return out;
    },
    stringify: function (obj) {
      var params = new URLSearchParams();
      Object.keys(obj || {}).forEach(function (k) {
        var v = obj[k];
        if (Array.isArray(v)) v.forEach(function (x) { params.append(k, x); });
        else if (v !== undefined) params.append(k, v === null ? '' : v);
      });
      return params.toString();
    },
  };
  querystring.encode = querystring.stringify;
  querystring.decode = querystring.parse;

  // ---- timers and console ----------------------------------------------------
  function setTimeout(fn, ms) {
    var args = Array.prototype.slice.call(arguments, 2);
    return native.setTimeout.apply(null, [fn, ms || 0].concat(args));
  }
  function clearTimeout(id) { if (id !== undefined && id !== null) native.clearTimeout(id); }
  function setImmediate(fn) {
    var args = Array.prototype.slice.call(arguments, 1);
    return native.setTimeout.apply(null, [fn, 0].concat(args));
  }
  function show(v) {
    if (typeof v === 'string') return v;
    if (v instanceof Error) return v.name + ': ' + v.message;
    try { var s = JSON.stringify(v); return s === undefined ? String(v) : s; } catch (e) { return String(v); }
  }
  function logger(level) {
    return function () {
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(show(arguments[i]));
      native.log(level + ' ' + parts.join(' '));
    };
  }
  var console = { log: logger('log'), info: logger('info'), warn: logger('warn'), error: logger('error'), debug: logger('debug') };

  // ---- outbound HTTP: request, fetch, axios ------------------------------------
  function bodyOf(value, headers) {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'string') return value;
    if (value instanceof URLSearchParams) {
      setDefaultHeader(headers, 'content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      return value.toString();
    }
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return Buffer.from(value);
    setDefaultHeader(headers, 'content-type', 'application/json');
    return JSON.stringify(value);
  }
  function setDefaultHeader(headers, name, value) {
    var keys = Object.keys(headers);
    for (var i = 0; i < keys.length; i++) if (keys[i].toLowerCase() === name) return;
    headers[name] = value;
  }
  function plainHeaders(h) {
    var out = {};
    if (!h) return out;
    if (h instanceof Headers) { h.forEach(function (v, k) { out[k] = v; }); return out; }
    Object.keys(h).forEach(function (k) { if (h[k] !== undefined) out[k] = String(h[k]); });
    return out;
  }
  function send(spec, cb) {
    native.http({ method: spec.method, url: spec.url, headers: spec.headers, body: spec.body, timeout: spec.timeout }, cb);
  }

  function requestOptions(uri, options, callback) {
    var opts;
    if (typeof options === 'function') { callback = options; options = undefined; }
    if (typeof uri === 'object' && uri !== null) opts = Object.assign({}, uri);
    else opts = Object.assign({}, options || {}, { uri: uri });
    if (options && typeof uri !== 'object') opts = Object.assign({}, options, { uri: uri });
    return { opts: opts, callback: callback };
  }
  function request(uri, options, callback) {
    var p = requestOptions(uri, options, callback);
    var opts = p.opts;
    callback = typeof p.callback === 'function' ? p.callback : function () {};
    var url = String(opts.baseUrl ? opts.baseUrl.replace(/\/$/, '') + '/' + String(opts.uri || opts.url).replace(/^\//, '') : (opts.uri || opts.url));
    if (opts.qs) {
      var u = new URL(url);
      Object.keys(opts.qs).forEach(function (k) { u.searchParams.append(k, opts.qs[k]); });
      url = u.href;
    }
    var headers = plainHeaders(opts.headers);
    var body = opts.body;
    if (opts.form !== undefined) {
      body = typeof opts.form === 'string' ? opts.form : querystring.stringify(opts.form);
      setDefaultHeader(headers, 'content-type', 'application/x-www-form-urlencoded');
    } else if (opts.json !== undefined && opts.json !== false && opts.json !== true) {
      body = JSON.stringify(opts.json);
      setDefaultHeader(headers, 'content-type', 'application/json');
    } else if (opts.json === true && body !== undefined && typeof body !== 'string' && !ArrayBuffer.isView(body)) {
      body = JSON.stringify(body);
      setDefaultHeader(headers, 'content-type', 'application/json');
    }
    if (opts.json) setDefaultHeader(headers, 'accept', 'application/json');
    if (opts.auth) {
      if (opts.auth.bearer) headers.authorization = 'Bearer ' + opts.auth.bearer;
      else headers.authorization = 'Basic ' + Buffer.from((opts.auth.user || opts.auth.username || '') + ':' + (opts.auth.pass || opts.auth.password || '')).toString('base64');
    }
    send({ method: opts.method || 'GET', url: url, headers: headers, body: body, timeout: opts.timeout }, function (err, res) {
      if (err) {
        var e = new Error(err);
        e.code = err.split(':')[0];
        return callback(e);
      }
      var data = res.body;
      if (opts.json) { try { data = JSON.parse(data); } catch (x) { /* keep the text, as request does */ } }
      var response = { statusCode: res.status, statusMessage: res.statusText, headers: res.headers, body: data, request: { uri: { href: res.url } } };
      callback(null, response, data);
    });
  }
  ['get', 'post', 'put', 'patch', 'head', 'delete'].forEach(function (m) {
    request[m] = function (uri, options, callback) {
      var p = requestOptions(uri, options, callback);
      p.opts.method = m.toUpperCase();
      return request(p.opts, p.callback);
    };
  });
  request.del = request['delete'];
  request.defaults = function (defaults) {
    var bound = function (uri, options, callback) {
      var p = requestOptions(uri, options, callback);
      var merged = Object.assign({}, defaults, p.opts, { headers: Object.assign({}, defaults.headers, p.opts.headers) });
      return request(merged, p.callback);
    };
    ['get', 'post', 'put', 'patch', 'head', 'delete'].forEach(function (m) {
      bound[m] = function (uri, options, callback) {
        var p = requestOptions(uri, options, callback);
        p.opts.method = m.toUpperCase();
        return bound(p.opts, p.callback);
      };
    });
    bound.del = bound['delete'];
    return bound;
  };

  class Headers {
    constructor(init) {
      this._map = {};
      var self = this;
      if (init instanceof Headers) init.forEach(function (v, k) { self.set(k, v); });
      else if (Array.isArray(init)) init.forEach(function (p) { self.append(p[0], p[1]); });
      else if (init) Object.keys(init).forEach(function (k) { self.set(k, init[k]); });
    }
    get(name) { var v = this._map[String(name).toLowerCase()]; return v === undefined ? null : v; }
    has(name) { return hasOwn(this._map, String(name).toLowerCase()); }
    set(name, value) { this._map[String(name).toLowerCase()] = String(value); }
    append(name, value) { var k = String(name).toLowerCase(); this._map[k] = hasOwn(this._map, k) ? this._map[k] + ', ' + value : String(value); }
    delete(name) { delete this._map[String(name).toLowerCase()]; }
    forEach(fn, thisArg) { var m = this._map; Object.keys(m).forEach(function (k) { fn.call(thisArg, m[k], k, this); }, this); }
    entries() { var m = this._map; return Object.keys(m).map(function (k) { return [k, m[k]]; })[Symbol.iterator](); }
    [Symbol.iterator]() { return this.entries(); }
  }
  class Response {
    constructor(res) {
      this.status = res.status;
      this.statusText = res.statusText;
      this.ok = res.status >= 200 && res.status < 300;
      this.url = res.url;
      this.headers = new Headers(res.headers);
      this._body = res.body;
      this.bodyUsed = false;
    }
    text() { this.bodyUsed = true; return Promise.resolve(this._body); }
    json() {
      this.bodyUsed = true;
      var body = this._body;
      return new Promise(function (resolve) { resolve(JSON.parse(body)); });
    }
  }
  function fetch(input, init) {
    init = init || {};
    return new Promise(function (resolve, reject) {
      var url = typeof input === 'object' && input !== null && input.url ? input.url : String(input);
      var headers = plainHeaders(init.headers);
      var body = bodyOf(init.body, headers);
      send({ method: init.method || 'GET', url: url, headers: headers, body: body, timeout: init.timeout }, function (err, res) {
        if (err) {
          var e = new TypeError('fetch failed');
          e.cause = new Error(err);
          return reject(e);
        }
        resolve(new Response(res));
      });
    });
  }
  fetch.default = fetch;
  fetch.Headers = Headers;
  fetch.Response = Response;

  function makeAxios(defaults) {
    function axios(config, extra) {
      if (typeof config === 'string') config = Object.assign({}, extra || {}, { url: config });
      config = Object.assign({}, defaults, config, { headers: Object.assign({}, defaults.headers, config.headers) });
      var url = config.url;
      if (config.baseURL && !/^https?:\/\//i.test(url)) url = config.baseURL.replace(/\/$/, '') + '/' + String(url).replace(/^\//, '');
      if (config.params) {
        var u = new URL(url);
        Object.keys(config.params).forEach(function (k) { if (config.params[k] !== undefined) u.searchParams.append(k, config.params[k]); });
        url = u.href;
      }
      var headers = plainHeaders(config.headers);
      setDefaultHeader(headers, 'accept', 'application/json, text/plain, */*');
      var body = bodyOf(config.data, headers);
      return new Promise(function (resolve, reject) {
        send({ method: config.method || 'GET', url: url, headers: headers, body: body, timeout: config.timeout }, function (err, res) {
          if (err) {
            var e = new Error(err);
            e.code = err.split(':')[0];
            e.config = config;
            e.isAxiosError = true;
            return reject(e);
          }
          var data = res.body;
          try { data = JSON.parse(data); } catch (x) { /* not JSON: the text */ }
          var response = { data: data, status: res.status, statusText: res.statusText, headers: res.headers, config: config };
          if (res.status >= 200 && res.status < 300) return resolve(response);
          var failed = new Error('Request failed with status code ' + res.status);
          failed.response = response;
          failed.config = config;
          failed.isAxiosError = true;
          reject(failed);
        });
      });
    }
    ['get', 'delete', 'head', 'options'].forEach(function (m) {
      axios[m] = function (url, config) { return axios(Object.assign({}, config, { url: url, method: m.toUpperCase() })); };
    });
    ['post', 'put', 'patch'].forEach(function (m) {
      axios[m] = function (url, data, config) { return axios(Object.assign({}, config, { url: url, data: data, method: m.toUpperCase() })); };
    });
    axios.create = function (more) { return makeAxios(Object.assign({}, defaults, more, { headers: Object.assign({}, defaults.headers, more && more.headers) })); };
    axios.isAxiosError = function (e) { return !!(e && e.isAxiosError); };
    axios.default = axios;
    return axios;
  }
  var axios = makeAxios({ headers: {} });

  // ---- lodash basics -------------------------------------------------------------
  function isObject(v) { return v !== null && (typeof v === 'object' || typeof v === 'function'); }
  function isPlain(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }
  function pathOf(path) {
    if (Array.isArray(path)) return path;
    return String(path).replace(/\[(\w+)\]/g, '.$1').split('.').filter(function (s) { return s !== ''; });
  }
  function iteratee(f) {
    if (typeof f === 'function') return f;
    if (typeof f === 'string') return function (o) { return get(o, f); };
    if (isPlain(f)) return function (o) { return Object.keys(f).every(function (k) { return o && o[k] === f[k]; }); };
    return function (o) { return o; };
  }
  function get(obj, path, dflt) {
    var p = pathOf(path), cur = obj;
    for (var i = 0; i < p.length; i++) {
      if (cur === null || cur === undefined) return dflt;
      cur = cur[p[i]];
    }
    return cur === undefined ? dflt : cur;
  }
  function set(obj, path, value) {
    var p = pathOf(path), cur = obj;
    for (var i = 0; i < p.length - 1; i++) {
      if (!isObject(cur[p[i]])) cur[p[i]] = /^\d+$/.test(p[i + 1]) ? [] : {};
      cur = cur[p[i]];
    }
    if (p.length) cur[p[p.length - 1]] = value;
    return obj;
  }
  function has(obj, path) {
    var p = pathOf(path), cur = obj;
    for (var i = 0; i < p.length; i++) {
      if (!isObject(cur) || !hasOwn(cur, p[i])) return false;
      cur = cur[p[i]];
    }
    return true;
  }
  function cloneDeep(v) {
    if (Array.isArray(v)) return v.map(cloneDeep);
    if (v instanceof Date) return new Date(v.getTime());
    if (isPlain(v)) { var o = {}; Object.keys(v).forEach(function (k) { o[k] = cloneDeep(v[k]); }); return o; }
    return v;
  }
  function merge(target) {
    for (var i = 1; i < arguments.length; i++) {
      var src = arguments[i];
      if (!isObject(src)) continue;
      Object.keys(src).forEach(function (k) {
        if (isPlain(src[k]) && isPlain(target[k])) merge(target[k], src[k]);
        else if (isPlain(src[k])) target[k] = merge({}, src[k]);
        else if (src[k] !== undefined) target[k] = src[k];
      });
    }
    return target;
  }
  function values(o) { return o ? Object.keys(o).map(function (k) { return o[k]; }) : []; }
  function list(c) { return Array.isArray(c) ? c : values(c); }
  function uniq(a) { return (a || []).filter(function (v, i, all) { return all.indexOf(v) === i; }); }
  var _ = {
    get: get, set: set, has: has, cloneDeep: cloneDeep, merge: merge, values: values, uniq: uniq,
    keys: function (o) { return o ? Object.keys(o) : []; },
    clone: function (v) { return Array.isArray(v) ? v.slice() : (isPlain(v) ? Object.assign({}, v) : v); },
    assign: Object.assign, extend: Object.assign,
    defaults: function (o) {
      for (var i = 1; i < arguments.length; i++) {
        var s = arguments[i] || {};
        Object.keys(s).forEach(function (k) { if (o[k] === undefined) o[k] = s[k]; });
      }
      return o;
    },
    pick: function (o, ks) {
      var out = {}; ks = Array.isArray(ks) ? ks : Array.prototype.slice.call(arguments, 1);
      ks.forEach(function (k) { if (o && hasOwn(o, k)) out[k] = o[k]; });
      return out;
    },
    omit: function (o, ks) {
      var out = {}; ks = Array.isArray(ks) ? ks : Array.prototype.slice.call(arguments, 1);
      Object.keys(o || {}).forEach(function (k) { if (ks.indexOf(k) < 0) out[k] = o[k]; });
      return out;
    },
    isEmpty: function (v) {
      if (v === null || v === undefined) return true;
      if (typeof v === 'string' || Array.isArray(v)) return v.length === 0;
      if (typeof v === 'object') return Object.keys(v).length === 0;
      return true;
    },
    isString: function (v) { return typeof v === 'string'; },
    isNumber: function (v) { return typeof v === 'number'; },
    isBoolean: function (v) { return typeof v === 'boolean'; },
    isArray: Array.isArray,
    isObject: isObject,
    isPlainObject: isPlain,
    isFunction: function (v) { return typeof v === 'function'; },
    isNil: function (v) { return v === null || v === undefined; },
    isUndefined: function (v) { return v === undefined; },
    isNull: function (v) { return v === null; },
    isEqual: function (a, b) { return JSON.stringify(a) === JSON.stringify(b); },
    includes: function (c, v) { return typeof c === 'string' ? c.indexOf(v) >= 0 : list(c).indexOf(v) >= 0; },
    union: function () { return uniq([].concat.apply([], arguments)); },
    intersection: function (a) { var rest = Array.prototype.slice.call(arguments, 1); return uniq(a).filter(function (v) { return rest.every(function (r) { return r.indexOf(v) >= 0; }); }); },
    difference: function (a) { var rest = [].concat.apply([], Array.prototype.slice.call(arguments, 1)); return (a || []).filter(function (v) { return rest.indexOf(v) < 0; }); },
    without: function (a) { var rest = Array.prototype.slice.call(arguments, 1); return (a || []).filter(function (v) { return rest.indexOf(v) < 0; }); },
    flatten: function (a) { return [].concat.apply([], a || []); },
    compact: function (a) { return (a || []).filter(Boolean); },
    first: function (a) { return a ? a[0] : undefined; },
    head: function (a) { return a ? a[0] : undefined; },
    last: function (a) { return a ? a[a.length - 1] : undefined; },
    size: function (c) { return c ? (c.length !== undefined ? c.length : Object.keys(c).length) : 0; },
    map: function (c, f) { f = iteratee(f); return Array.isArray(c) ? c.map(f) : Object.keys(c || {}).map(function (k) { return f(c[k], k, c); }); },
    filter: function (c, f) { return list(c).filter(iteratee(f)); },
    find: function (c, f) { return list(c).find(iteratee(f)); },
    some: function (c, f) { return list(c).some(iteratee(f)); },
    every: function (c, f) { return list(c).every(iteratee(f)); },
    forEach: function (c, f) { if (Array.isArray(c)) c.forEach(f); else Object.keys(c || {}).forEach(function (k) { f(c[k], k, c); }); return c; },
    groupBy: function (c, f) { f = iteratee(f); var out = {}; list(c).forEach(function (v) { var k = f(v); (out[k] = out[k] || []).push(v); }); return out; },
    keyBy: function (c, f) { f = iteratee(f); var out = {}; list(c).forEach(function (v) { out[f(v)] = v; }); return out; },
    mapValues: function (o, f) { f = iteratee(f); var out = {}; Object.keys(o || {}).forEach(function (k) { out[k] = f(o[k], k, o); }); return out; },
    startsWith: function (s, p) { return String(s).indexOf(p) === 0; },
    endsWith: function (s, p) { s = String(s); return s.slice(s.length - String(p).length) === String(p); },
    trim: function (s) { return String(s === undefined || s === null ? '' : s).trim(); },
    toLower: function (s) { return String(s === undefined || s === null ? '' : s).toLowerCase(); },
    toUpper: function (s) { return String(s === undefined || s === null ? '' : s).toUpperCase(); },
    capitalize: function (s) { s = String(s === undefined || s === null ? '' : s); return s.charAt(0).toUpperCase() + s.slice(1).toLowerCase(); },
  };
  _.each = _.forEach;

  // ---- require -----------------------------------------------------------------
  var modules = {
    request: request,
    axios: axios,
    'node-fetch': fetch,
    crypto: crypto,
    buffer: { Buffer: Buffer },
    url: { URL: URL, URLSearchParams: URLSearchParams },
    querystring: querystring,
    lodash: _,
    uuid: { v4: function () { return native.randomUUID(); } },
  };
  function require(name) {
    var n = String(name);
    if (n.indexOf('node:') === 0) n = n.slice(5);
    var at = n.lastIndexOf('@');
    if (at > 0) n = n.slice(0, at); // 'lodash@4.17.10': any version is the one gatehouse has
    if (hasOwn(modules, n)) return modules[n];
    var e = new Error("Cannot find module '" + name + "' (gatehouse offers: " + Object.keys(modules).join(', ') + ')');
    e.code = 'MODULE_NOT_FOUND';
    throw e;
  }

  // ---- post-login state: what rules and Actions ask for --------------------------
  function snapshot(v) { return v === undefined ? undefined : JSON.parse(JSON.stringify(v)); }
  function newPostLogin(userId, record) {
    var st = {
      accessToken: {}, idToken: {}, scopeOps: [], appMetadata: {}, userMetadata: {},
      multifactor: undefined, denied: undefined, redirect: false, rulesExecuted: [],
      rules: undefined, commands: [],
    };
    // note keeps, for an Action test, each command in the order issued,
    // in the shape of Auth0's test results.
    function note(cmd) { if (record) st.commands.push(snapshot(cmd)); }
    function update(kind) {
      return function (id, metadata, callback) {
        var p;
        if (String(id) !== String(userId)) {
          p = Promise.reject(new Error('gatehouse: a rule may update only the user logging in'));
        } else {
          var patch = snapshot(metadata) || {};
          Object.keys(patch).forEach(function (k) { st[kind][k] = patch[k]; });
          p = Promise.resolve();
        }
        if (typeof callback === 'function') {
          p.then(function () { callback(null); }, function (e) { callback(e); });
          return undefined;
        }
        return p;
      };
    }
    var auth0 = {
      users: { updateAppMetadata: update('appMetadata'), updateUserMetadata: update('userMetadata') },
    };
    function claim(target) {
      return function (key, value) {
        st[target][String(key)] = snapshot(value);
        note({ name: 'SetCustomClaim', target: target, key: String(key), value: value === undefined ? null : value });
      };
    }
    var api = {
      access: {
        deny: function (reason) {
          if (st.denied === undefined) st.denied = String(reason === undefined ? '' : reason);
          note({ name: 'Deny', reason: String(reason === undefined ? '' : reason) });
        },
      },
      accessToken: {
        setCustomClaim: claim('accessToken'),
        addScope: function (s) { st.scopeOps.push(['add', String(s)]); note({ name: 'AddScope', target: 'accessToken', scope: String(s) }); },
        removeScope: function (s) { st.scopeOps.push(['remove', String(s)]); note({ name: 'RemoveScope', target: 'accessToken', scope: String(s) }); },
      },
      idToken: { setCustomClaim: claim('idToken') },
      user: {
        setAppMetadata: function (k, v) {
          st.appMetadata[String(k)] = snapshot(v) === undefined ? null : snapshot(v);
          note({ name: 'SetAppMetadata', key: String(k), value: v === undefined ? null : v });
        },
        setUserMetadata: function (k, v) {
          st.userMetadata[String(k)] = snapshot(v) === undefined ? null : snapshot(v);
          note({ name: 'SetUserMetadata', key: String(k), value: v === undefined ? null : v });
        },
      },
      multifactor: {
        enable: function (provider, options) {
          st.multifactor = { provider: String(provider), allowRememberBrowser: !!(options && options.allowRememberBrowser) };
          note({ name: 'EnableMultifactor', provider: st.multifactor.provider, allowRememberBrowser: st.multifactor.allowRememberBrowser });
        },
      },
      redirect: {
        sendUserTo: function (url) { st.redirect = true; note({ name: 'Redirect', url: String(url) }); },
        encodeToken: function () { st.redirect = true; return ''; },
        validateToken: function () { st.redirect = true; return {}; },
      },
      rules: { wasExecuted: function (id) { return st.rulesExecuted.indexOf(String(id)) >= 0; } },
      cache: (function () {
        var c = {};
        return {
          get: function (k) { return hasOwn(c, k) ? { value: c[k] } : undefined; },
          set: function (k, v) { c[String(k)] = String(v); return { type: 'success' }; },
          delete: function (k) { delete c[k]; return { type: 'success' }; },
        };
      })(),
    };
    // collectRules reads what the rules left on context once they all ran.
    function collectRules(ctx) {
      var out = { accessToken: {}, idToken: {} };
      if (ctx === null || typeof ctx !== 'object') return out;
      var at = ctx.accessToken, it = ctx.idToken;
      if (isObject(at)) Object.keys(at).forEach(function (k) { if (k === 'scope') out.scope = at.scope; else out.accessToken[k] = at[k]; });
      if (isObject(it)) Object.keys(it).forEach(function (k) { out.idToken[k] = it[k]; });
      if (isObject(ctx.multifactor)) {
        out.multifactor = { provider: String(ctx.multifactor.provider || 'any'), allowRememberBrowser: !!ctx.multifactor.allowRememberBrowser };
      }
      if (ctx.redirect) out.redirect = true;
      return out;
    }
    return { state: st, auth0: auth0, api: api, collectRules: collectRules };
  }

  return {
    globals: Object.assign(bounded, {
      require: require, Buffer: Buffer, URL: URL, URLSearchParams: URLSearchParams, crypto: crypto,
      fetch: fetch, Headers: Headers, Response: Response, request: request, console: console,
      setTimeout: setTimeout, clearTimeout: clearTimeout, setImmediate: setImmediate, clearImmediate: clearTimeout,
      UnauthorizedError: UnauthorizedError, WrongUsernameOrPasswordError: WrongUsernameOrPasswordError,
      ValidationError: ValidationError, InvalidPasswordError: InvalidPasswordError,
    }),
    newPostLogin: newPostLogin,
  };
})
