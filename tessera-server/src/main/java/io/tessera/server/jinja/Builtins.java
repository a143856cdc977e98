package io.tessera.server.jinja;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.TextStyle;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The globals, filters, tests and methods a template can reach, each as Jinja2 (and Python) define
 * it. Nothing else is reachable: no Java method or field of any value.
 */
final class Builtins {
    private Builtins() {
    }

    static void requireDefined(Object v) {
        if (v instanceof Py.Missing m) {
            throw new TemplateException("'" + m.name() + "' is undefined");
        }
        if (v == Py.UNDEFINED) {
            throw new TemplateException("a value is undefined");
        }
    }

    // ---------------------------------------------------------------- globals

    static Object global(String name) {
        return switch (name) {
            case "range" -> (Py.Callable) (in, args, kw) -> range(args);
            case "namespace" -> (Py.Callable) (in, args, kw) -> {
                Map<String, Object> values = new LinkedHashMap<>();
                for (Object a : args) {
                    if (a instanceof Map<?, ?> m) {
                        m.forEach((k, v) -> values.put(Py.str(k), v));
                    }
                }
                values.putAll(kw);
                return new Py.Namespace(values);
            };
            case "dict" -> (Py.Callable) (in, args, kw) -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                if (!args.isEmpty() && args.getFirst() instanceof Map<?, ?> src) {
                    m.putAll(src);
                }
                m.putAll(kw);
                return m;
            };
            case "raise_exception" -> (Py.Callable) (in, args, kw) -> {
                throw new TemplateException.Raised(args.isEmpty() ? "" : Py.str(args.getFirst()));
            };
            case "strftime_now" -> (Py.Callable) (in, args, kw) -> strftime(LocalDateTime.now(),
                    args.isEmpty() ? "" : Py.str(args.getFirst()));
            default -> Py.UNDEFINED;
        };
    }

    private static Object range(List<Object> args) {
        long start = 0;
        long stop;
        long step = 1;
        for (Object a : args) {
            if (!Py.isIntLike(a)) {
                throw new TemplateException("'" + Py.typeName(a) + "' object cannot be interpreted as an integer");
            }
        }
        switch (args.size()) {
            case 1 -> stop = Py.toLong(args.get(0));
            case 2 -> {
                start = Py.toLong(args.get(0));
                stop = Py.toLong(args.get(1));
            }
            case 3 -> {
                start = Py.toLong(args.get(0));
                stop = Py.toLong(args.get(1));
                step = Py.toLong(args.get(2));
            }
            default -> throw new TemplateException("range expected 1 to 3 arguments, got " + args.size());
        }
        if (step == 0) {
            throw new TemplateException("range() arg 3 must not be zero");
        }
        double count = Math.max(0, Math.ceil(((double) stop - start) / step));
        if (count > RenderLimits.MAX_RANGE) {
            throw new TemplateException.LimitExceeded("Range too big. The sandbox blocks ranges larger than MAX_RANGE ("
                    + RenderLimits.MAX_RANGE + ").");
        }
        List<Object> r = new ArrayList<>();
        for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
            r.add(i);
        }
        return r;
    }

    /** Python's strftime for the directives chat templates use. */
    static String strftime(LocalDateTime t, String format) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 >= format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            sb.append(switch (d) {
                case 'd' -> String.format("%02d", t.getDayOfMonth());
                case 'm' -> String.format("%02d", t.getMonthValue());
                case 'Y' -> Integer.toString(t.getYear());
                case 'y' -> String.format("%02d", t.getYear() % 100);
                case 'b' -> t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'B' -> t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'a' -> t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH);
                case 'A' -> t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH);
                case 'H' -> String.format("%02d", t.getHour());
                case 'I' -> String.format("%02d", (t.getHour() + 11) % 12 + 1);
                case 'M' -> String.format("%02d", t.getMinute());
                case 'S' -> String.format("%02d", t.getSecond());
                case 'p' -> t.getHour() < 12 ? "AM" : "PM";
                case 'j' -> String.format("%03d", t.getDayOfYear());
                case 'F' -> t.format(DateTimeFormatter.ISO_LOCAL_DATE);
                case '%' -> "%";
                default -> "%" + d;
            });
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- attributes and items

    private static final Set<String> STRING_METHODS = Set.of("startswith", "endswith", "strip", "lstrip", "rstrip",
            "split", "rsplit", "upper", "lower", "title", "capitalize", "replace", "find", "rfind", "count", "join",
            "splitlines", "isdigit", "isalpha", "isalnum", "isspace", "isupper", "islower");
    private static final Set<String> DICT_METHODS = Set.of("items", "keys", "values", "get");

    static Object getAttr(Object target, String name) {
        requireDefined(target);
        if (target instanceof Map<?, ?> m) {
            if (DICT_METHODS.contains(name)) {
                return (Py.Callable) (in, args, kw) -> Methods.dict(m, name, args);
            }
            return m.containsKey(name) ? m.get(name) : new Py.Missing(name);
        }
        if (target instanceof String s && STRING_METHODS.contains(name)) {
            return (Py.Callable) (in, args, kw) -> Methods.string(in.budget, s, name, args, kw);
        }
        if (target instanceof Py.Namespace ns) {
            return ns.values().containsKey(name) ? ns.values().get(name) : new Py.Missing(name);
        }
        if (target instanceof Interpreter.Loop loop) {
            return loop.get(name);
        }
        return new Py.Missing(name);
    }

    static Object getItem(Object target, Object key) {
        requireDefined(target);
        if (target instanceof Map<?, ?> m) {
            Object k = Py.normalize(key);
            if (m.containsKey(k)) {
                return m.get(k);
            }
            return k instanceof String s ? getAttr(target, s) : new Py.Missing(Py.str(k));
        }
        if (target instanceof List<?> l && Py.isIntLike(key)) {
            long i = Py.toLong(key);
            if (i < 0) {
                i += l.size();
            }
            return i >= 0 && i < l.size() ? l.get((int) i) : new Py.Missing("[" + key + "]");
        }
        if (target instanceof String s && Py.isIntLike(key)) {
            int[] cps = s.codePoints().toArray();
            long i = Py.toLong(key);
            if (i < 0) {
                i += cps.length;
            }
            return i >= 0 && i < cps.length ? new String(Character.toChars(cps[(int) i])) : new Py.Missing("[" + key
                    + "]");
        }
        if (key instanceof String s) {
            return getAttr(target, s);
        }
        return new Py.Missing("[" + Py.str(key) + "]");
    }

    static Object slice(Object target, Object start, Object stop, Object step) {
        requireDefined(target);
        long st = step == null ? 1 : Py.toLong(step);
        if (st == 0) {
            throw new TemplateException("slice step cannot be zero");
        }
        List<Object> items;
        boolean string = target instanceof String;
        if (target instanceof List<?> l) {
            items = new ArrayList<>(l);
        } else if (string) {
            items = Py.iterate(target);
        } else {
            throw new TemplateException("'" + Py.typeName(target) + "' object is not subscriptable");
        }
        int n = items.size();
        long lo;
        long hi;
        if (st > 0) {
            lo = bound(start, 0, n, 0, n);
            hi = bound(stop, n, n, 0, n);
        } else {
            lo = bound(start, n - 1, n, -1, n - 1);
            hi = bound(stop, -1, n, -1, n - 1);
        }
        List<Object> out = new ArrayList<>();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            out.add(items.get((int) i));
        }
        if (string) {
            StringBuilder sb = new StringBuilder();
            out.forEach(o -> sb.append((String) o));
            return sb.toString();
        }
        return out;
    }

    /** A slice bound as Python clamps it. */
    private static long bound(Object v, long dflt, int n, long min, long max) {
        if (v == null) {
            return dflt;
        }
        if (!Py.isIntLike(v)) {
            throw new TemplateException("slice indices must be integers or None");
        }
        long i = Py.toLong(v);
        if (i < 0) {
            i += n;
        }
        return Math.max(min, Math.min(max, i));
    }

    static boolean contains(Object container, Object item) {
        if (container instanceof String s) {
            if (!(item instanceof String x)) {
                throw new TemplateException("'in <string>' requires string as left operand, not "
                        + Py.typeName(item));
            }
            return s.contains(x);
        }
        if (container instanceof Map<?, ?> m) {
            return m.containsKey(Py.normalize(item));
        }
        if (Py.isUndefined(container)) {
            return false;
        }
        for (Object o : Py.iterate(container)) {
            if (Py.eq(o, item)) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- tests

    static boolean test(String name, Object v, List<Object> args) {
        Object a = args.isEmpty() ? null : args.getFirst();
        return switch (name) {
            case "defined" -> !Py.isUndefined(v);
            case "undefined" -> Py.isUndefined(v);
            case "none" -> v == null;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "boolean" -> v instanceof Boolean;
            case "string" -> v instanceof String;
            case "number" -> Py.isNumber(v);
            case "integer" -> Py.isInt(v);
            case "float" -> v instanceof Double || v instanceof Float;
            case "mapping" -> v instanceof Map<?, ?> || v instanceof Py.Namespace;
            case "sequence" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "iterable" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>
                    || Py.isUndefined(v);
            case "callable" -> v instanceof Py.Callable;
            case "sameas" -> v == a || v != null && Py.isIntLike(v) && Py.eq(v, a) && v.getClass() == a.getClass()
                    || v instanceof Boolean && v.equals(a);
            case "eq", "equalto", "==" -> Py.eq(v, a);
            case "ne", "!=" -> !Py.eq(v, a);
            case "lt", "lessthan", "<" -> Py.compare(v, a, "<") < 0;
            case "le", "<=" -> Py.compare(v, a, "<=") <= 0;
            case "gt", "greaterthan", ">" -> Py.compare(v, a, ">") > 0;
            case "ge", ">=" -> Py.compare(v, a, ">=") >= 0;
            case "in" -> contains(a, v);
            case "even" -> Py.toLong(v) % 2 == 0;
            case "odd" -> Py.toLong(v) % 2 != 0;
            case "divisibleby" -> Py.toLong(a) != 0 && Py.toLong(v) % Py.toLong(a) == 0;
            case "lower" -> v instanceof String s && s.equals(s.toLowerCase(Locale.ROOT));
            case "upper" -> v instanceof String s && s.equals(s.toUpperCase(Locale.ROOT));
            default -> throw new TemplateException("no test named '" + name + "'");
        };
    }

    // ---------------------------------------------------------------- filters

    static Object filter(Interpreter in, String name, Object v, List<Object> args, Map<String, Object> kw) {
        Budget budget = in.budget;
        return switch (name) {
            case "safe", "e", "escape", "forceescape" -> name.equals("safe") ? v : escape(Py.str(v));
            case "string" -> Py.str(v);
            case "trim" -> {
                Object chars = arg(args, kw, 0, "chars", null);
                yield chars == null ? Methods.strip(Py.str(v), null, true, true)
                        : Methods.strip(Py.str(v), Py.str(chars), true, true);
            }
            case "upper" -> Py.str(v).toUpperCase(Locale.ROOT);
            case "lower" -> Py.str(v).toLowerCase(Locale.ROOT);
            case "capitalize" -> Methods.capitalize(Py.str(v));
            case "title" -> Methods.title(Py.str(v));
            case "length", "count" -> Py.length(v);
            case "first" -> {
                List<Object> l = Py.iterate(v);
                yield l.isEmpty() ? Py.UNDEFINED : l.getFirst();
            }
            case "last" -> {
                List<Object> l = Py.iterate(v);
                yield l.isEmpty() ? Py.UNDEFINED : l.getLast();
            }
            case "list" -> Py.iterate(v);
            case "reverse" -> {
                if (v instanceof String s) {
                    yield new StringBuilder(s).reverse().toString();
                }
                List<Object> l = Py.iterate(v);
                java.util.Collections.reverse(l);
                yield l;
            }
            case "default", "d" -> {
                Object dflt = arg(args, kw, 0, "default_value", "");
                boolean bool = Py.truthy(arg(args, kw, 1, "boolean", false));
                yield Py.isUndefined(v) || bool && !Py.truthy(v) ? dflt : v;
            }
            case "join" -> {
                String sep = Py.str(arg(args, kw, 0, "d", ""));
                Object attribute = arg(args, kw, 1, "attribute", null);
                List<Object> items = Py.iterate(v);
                long total = 0;
                List<String> parts = new ArrayList<>();
                for (Object o : items) {
                    String s = Py.str(attribute == null ? o : getItem(o, attribute));
                    total += s.length() + sep.length();
                    budget.checkChars(total, "filter 'join'");
                    parts.add(s);
                }
                yield String.join(sep, parts);
            }
            case "replace" -> {
                String s = Py.str(v);
                Object count = arg(args, kw, 2, "count", null);
                yield Methods.replace(budget, "filter 'replace'", s, Py.str(arg(args, kw, 0, "old", "")),
                        Py.str(arg(args, kw, 1, "new", "")), count == null ? -1 : Py.toLong(count));
            }
            case "int" -> toInt(v, arg(args, kw, 0, "default", 0L));
            case "float" -> toFloat(v, arg(args, kw, 0, "default", 0.0));
            case "abs" -> Py.isIntLike(v) ? (Object) Math.abs(Py.toLong(v)) : (Object) Math.abs(Py.toDouble(v));
            case "round" -> {
                long precision = Py.toLong(arg(args, kw, 0, "precision", 0L));
                String method = Py.str(arg(args, kw, 1, "method", "common"));
                double x = Py.toDouble(v);
                double scale = Math.pow(10, precision);
                yield switch (method) {
                    case "ceil" -> Math.ceil(x * scale) / scale;
                    case "floor" -> Math.floor(x * scale) / scale;
                    // Python's round: the exact binary value, halves to even
                    default -> new java.math.BigDecimal(x).setScale((int) precision, java.math.RoundingMode.HALF_EVEN)
                            .doubleValue();
                };
            }
            case "tojson" -> Json.dumps(budget, v, arg(args, kw, 0, "indent", null), kw);
            case "items" -> {
                if (Py.isUndefined(v)) {
                    yield List.of();
                }
                if (!(v instanceof Map<?, ?> m)) {
                    throw new TemplateException("can only get item pairs from a mapping");
                }
                yield Methods.dict(m, "items", List.of());
            }
            case "dictsort" -> {
                if (!(v instanceof Map<?, ?> m)) {
                    throw new TemplateException("dictsort needs a mapping");
                }
                List<Object> pairs = new ArrayList<>((List<?>) Methods.dict(m, "items", List.of()));
                boolean byValue = "value".equals(arg(args, kw, 1, "by", "key"));
                boolean reverse = Py.truthy(arg(args, kw, 2, "reverse", false));
                Comparator<Object> c = (x, y) -> Py.compare(sortKey(((List<?>) x).get(byValue ? 1 : 0), false),
                        sortKey(((List<?>) y).get(byValue ? 1 : 0), false), "<");
                pairs.sort(reverse ? c.reversed() : c);
                yield pairs;
            }
            case "sort" -> {
                List<Object> l = Py.iterate(v);
                boolean reverse = Py.truthy(arg(args, kw, 0, "reverse", false));
                boolean caseSensitive = Py.truthy(arg(args, kw, 1, "case_sensitive", false));
                Object attribute = arg(args, kw, 2, "attribute", null);
                Comparator<Object> c = (x, y) -> Py.compare(
                        sortKey(attribute == null ? x : getItem(x, attribute), caseSensitive),
                        sortKey(attribute == null ? y : getItem(y, attribute), caseSensitive), "<");
                l.sort(reverse ? c.reversed() : c);
                yield l;
            }
            case "unique" -> {
                List<Object> out = new ArrayList<>();
                Set<Object> seen = new LinkedHashSet<>();
                for (Object o : Py.iterate(v)) {
                    Object key = o instanceof String s ? s.toLowerCase(Locale.ROOT) : o;
                    if (seen.add(key)) {
                        out.add(o);
                    }
                }
                yield out;
            }
            case "sum" -> {
                Object attribute = arg(args, kw, 0, "attribute", null);
                Object total = arg(args, kw, 1, "start", 0L);
                for (Object o : Py.iterate(v)) {
                    total = Arithmetic.apply(budget, "+", total, attribute == null ? o : getItem(o, attribute));
                }
                yield total;
            }
            case "min", "max" -> {
                List<Object> l = Py.iterate(v);
                if (l.isEmpty()) {
                    yield Py.UNDEFINED;
                }
                Object best = l.getFirst();
                for (Object o : l) {
                    int c = Py.compare(sortKey(o, false), sortKey(best, false), "<");
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = o;
                    }
                }
                yield best;
            }
            case "map" -> {
                List<Object> out = new ArrayList<>();
                if (kw.containsKey("attribute")) {
                    Object dflt = kw.getOrDefault("default", Py.UNDEFINED);
                    for (Object o : Py.iterate(v)) {
                        Object x = getItem(o, kw.get("attribute"));
                        out.add(Py.isUndefined(x) && kw.containsKey("default") ? dflt : x);
                    }
                } else {
                    if (args.isEmpty()) {
                        throw new TemplateException("map requires a filter argument");
                    }
                    String filter = Py.str(args.getFirst());
                    for (Object o : Py.iterate(v)) {
                        out.add(filter(in, filter, o, args.subList(1, args.size()), kw));
                    }
                }
                yield out;
            }
            case "select", "reject", "selectattr", "rejectattr" -> {
                boolean attr = name.endsWith("attr");
                boolean keep = name.startsWith("select");
                List<Object> out = new ArrayList<>();
                int testAt = attr ? 1 : 0;
                for (Object o : Py.iterate(v)) {
                    Object subject = attr ? getItem(o, args.getFirst()) : o;
                    boolean r = args.size() > testAt
                            ? test(Py.str(args.get(testAt)), subject, args.subList(testAt + 1, args.size()))
                            : Py.truthy(subject);
                    if (r == keep) {
                        out.add(o);
                    }
                }
                yield out;
            }
            case "attr" -> getAttr(v, Py.str(args.getFirst()));
            case "wordcount" -> (long) Py.str(v).split("\\s+", -1).length - (Py.str(v).isBlank() ? 1 : 0);
            case "indent" -> {
                Object width = arg(args, kw, 0, "width", 4L);
                String pad = width instanceof String s ? s : " ".repeat((int) Math.min(Math.max(0,
                        checkedWidth(budget, Py.toLong(width))), Integer.MAX_VALUE));
                boolean first = Py.truthy(arg(args, kw, 1, "first", false));
                boolean blank = Py.truthy(arg(args, kw, 2, "blank", false));
                String s = Py.str(v);
                String[] lines = s.split("\n", -1);
                budget.checkChars(s.length() + (long) lines.length * pad.length(), "filter 'indent'");
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < lines.length; i++) {
                    if (i > 0) {
                        sb.append('\n');
                    }
                    boolean indent = (i > 0 || first) && (blank || !lines[i].isBlank());
                    sb.append(indent ? pad : "").append(lines[i]);
                }
                yield sb.toString();
            }
            case "center" -> {
                long width = checkedWidth(budget, Py.toLong(arg(args, kw, 0, "width", 80L)));
                String s = Py.str(v);
                long padding = Math.max(0, width - s.length());
                long left = padding / 2 + (padding % 2 & width % 2);
                yield " ".repeat((int) left) + s + " ".repeat((int) (padding - left));
            }
            default -> throw new TemplateException("no filter named '" + name + "'");
        };
    }

    private static long checkedWidth(Budget budget, long width) {
        budget.checkChars(width, "a width of " + width);
        return width;
    }

    private static Object sortKey(Object v, boolean caseSensitive) {
        return !caseSensitive && v instanceof String s ? s.toLowerCase(Locale.ROOT) : v;
    }

    /** Argument {@code index} or keyword {@code name}, else the default. */
    static Object arg(List<Object> args, Map<String, Object> kw, int index, String name, Object dflt) {
        if (index < args.size()) {
            return args.get(index);
        }
        return kw.containsKey(name) ? kw.get(name) : dflt;
    }

    private static Object toInt(Object v, Object dflt) {
        if (Py.isIntLike(v)) {
            return Py.toLong(v);
        }
        if (v instanceof Double d) {
            return (long) (double) d;
        }
        try {
            return Long.parseLong(Py.str(v).strip().replace("_", ""));
        } catch (NumberFormatException e) {
            try {
                return (long) Double.parseDouble(Py.str(v).strip());
            } catch (NumberFormatException e2) {
                return dflt;
            }
        }
    }

    private static Object toFloat(Object v, Object dflt) {
        if (Py.isNumber(v)) {
            return Py.toDouble(v);
        }
        try {
            return Double.parseDouble(Py.str(v).strip());
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(switch (c) {
                case '&' -> "&amp;";
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '"' -> "&#34;";
                case '\'' -> "&#39;";
                default -> String.valueOf(c);
            });
        }
        return sb.toString();
    }
}
