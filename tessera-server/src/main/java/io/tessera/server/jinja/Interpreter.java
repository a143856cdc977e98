package io.tessera.server.jinja;

import io.tessera.server.jinja.Ast.Expr;
import io.tessera.server.jinja.Ast.Node;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a parsed template: Jinja2's scoping (a loop iteration and a macro call have their own
 * variables; {@code if} does not), Python's operators, and a {@link Budget} charged for every node,
 * expression and iteration.
 */
final class Interpreter {
    final Budget budget;
    private final Frame root;

    /** Variables of one scope; lookups fall through to the enclosing scope. */
    static final class Frame {
        final Frame parent;
        final Map<String, Object> vars = new HashMap<>();

        Frame(Frame parent) {
            this.parent = parent;
        }

        Object lookup(String name) {
            for (Frame f = this; f != null; f = f.parent) {
                Object v = f.vars.get(name);
                if (v != null || f.vars.containsKey(name)) {
                    return v;
                }
            }
            return Builtins.global(name);
        }
    }

    private static final class BreakSignal extends RuntimeException {
        BreakSignal() {
            super(null, null, false, false);
        }
    }

    private static final class ContinueSignal extends RuntimeException {
        ContinueSignal() {
            super(null, null, false, false);
        }
    }

    private static final BreakSignal BREAK = new BreakSignal();
    private static final ContinueSignal CONTINUE = new ContinueSignal();

    Interpreter(Budget budget, Map<String, Object> variables) {
        this.budget = budget;
        this.root = new Frame(null);
        for (Map.Entry<String, Object> e : variables.entrySet()) {
            root.vars.put(e.getKey(), e.getValue() instanceof Py.Callable ? e.getValue() : Py.normalize(e.getValue()));
        }
    }

    String render(List<Node> body) {
        StringBuilder out = new StringBuilder();
        render(body, root, out);
        return out.toString();
    }

    private void append(StringBuilder out, String s) {
        budget.checkOutput((long) out.length() + s.length());
        out.append(s);
    }

    void render(List<Node> body, Frame frame, StringBuilder out) {
        for (Node n : body) {
            budget.step();
            switch (n) {
                case Ast.Text t -> append(out, t.text());
                case Ast.Output o -> append(out, Py.str(eval(o.value(), frame)));
                case Ast.If i -> {
                    List<Node> chosen = i.orElse();
                    for (int k = 0; k < i.tests().size(); k++) {
                        if (Py.truthy(eval(i.tests().get(k), frame))) {
                            chosen = i.bodies().get(k);
                            break;
                        }
                    }
                    render(chosen, frame, out);
                }
                case Ast.For f -> forLoop(f, frame, out);
                case Ast.Set s -> set(s, frame);
                case Ast.SetBlock s -> {
                    StringBuilder captured = new StringBuilder();
                    render(s.body(), frame, captured);
                    frame.vars.put(s.target(), captured.toString());
                }
                case Ast.Macro m -> frame.vars.put(m.name(), new Macro(m, frame));
                case Ast.FilterBlock fb -> {
                    StringBuilder captured = new StringBuilder();
                    render(fb.body(), frame, captured);
                    append(out, Py.str(applyFilter(fb.filter(), captured.toString(), frame)));
                }
                case Ast.Block b -> render(b.body(), frame, out);
                case Ast.Break b -> throw BREAK;
                case Ast.Continue c -> throw CONTINUE;
            }
        }
    }

    private void set(Ast.Set s, Frame frame) {
        Object value = eval(s.value(), frame);
        if (s.attribute() != null) {
            Object target = frame.lookup(s.targets().getFirst());
            if (!(target instanceof Py.Namespace ns)) {
                throw new TemplateException("cannot assign attribute on non-namespace object");
            }
            ns.values().put(s.attribute(), value);
            return;
        }
        assign(s.targets(), value, frame);
    }

    private static void assign(List<String> targets, Object value, Frame frame) {
        if (targets.size() == 1) {
            frame.vars.put(targets.getFirst(), value);
            return;
        }
        List<Object> items = Py.iterate(value);
        if (items.size() != targets.size()) {
            throw new TemplateException((items.size() < targets.size() ? "not enough" : "too many")
                    + " values to unpack (expected " + targets.size() + ", got " + items.size() + ")");
        }
        for (int i = 0; i < targets.size(); i++) {
            frame.vars.put(targets.get(i), items.get(i));
        }
    }

    private void forLoop(Ast.For f, Frame frame, StringBuilder out) {
        List<Object> items = Py.iterate(eval(f.iterable(), frame));
        if (f.condition() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                budget.step();
                Frame probe = new Frame(frame);
                assign(f.targets(), item, probe);
                if (Py.truthy(eval(f.condition(), probe))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        for (int i = 0; i < items.size(); i++) {
            budget.step();
            Frame it = new Frame(frame);
            assign(f.targets(), items.get(i), it);
            it.vars.put("loop", new Loop(items, i));
            try {
                render(f.body(), it, out);
            } catch (BreakSignal b) {
                break;
            } catch (ContinueSignal c) {
                // next iteration
            }
        }
        if (items.isEmpty()) {
            render(f.orElse(), frame, out);
        }
    }

    /** The {@code loop} variable of a for loop. */
    record Loop(List<Object> items, int index) {
        Object get(String name) {
            int n = items.size();
            return switch (name) {
                case "index" -> (long) index + 1;
                case "index0" -> (long) index;
                case "revindex" -> (long) (n - index);
                case "revindex0" -> (long) (n - index - 1);
                case "first" -> index == 0;
                case "last" -> index == n - 1;
                case "length" -> (long) n;
                case "depth" -> 1L;
                case "depth0" -> 0L;
                case "previtem" -> index > 0 ? items.get(index - 1) : Py.UNDEFINED;
                case "nextitem" -> index < n - 1 ? items.get(index + 1) : Py.UNDEFINED;
                case "cycle" -> (Py.Callable) (in, args, kw) -> {
                    if (args.isEmpty()) {
                        throw new TemplateException("no items for cycling given");
                    }
                    return args.get(index % args.size());
                };
                default -> new Py.Missing("loop." + name);
            };
        }
    }

    /** A macro bound to the scope it was defined in. */
    private final class Macro implements Py.Callable {
        private final Ast.Macro node;
        private final Frame scope;

        Macro(Ast.Macro node, Frame scope) {
            this.node = node;
            this.scope = scope;
        }

        @Override
        public Object call(Interpreter in, List<Object> args, Map<String, Object> kwargs) {
            List<String> params = node.params();
            if (args.size() > params.size()) {
                throw new TemplateException("macro '" + node.name() + "' takes not more than " + params.size()
                        + " argument(s)");
            }
            Frame f = new Frame(scope);
            int firstDefault = params.size() - node.defaults().size();
            for (int i = 0; i < params.size(); i++) {
                String p = params.get(i);
                if (i < args.size()) {
                    f.vars.put(p, args.get(i));
                } else if (kwargs.containsKey(p)) {
                    f.vars.put(p, kwargs.get(p));
                } else if (i >= firstDefault) {
                    f.vars.put(p, eval(node.defaults().get(i - firstDefault), f));
                } else {
                    f.vars.put(p, new Py.Missing(p));
                }
            }
            for (String k : kwargs.keySet()) {
                if (!params.contains(k)) {
                    throw new TemplateException("macro '" + node.name() + "' takes no keyword argument '" + k + "'");
                }
            }
            StringBuilder out = new StringBuilder();
            render(node.body(), f, out);
            return out.toString();
        }
    }

    // ---------------------------------------------------------------- expressions

    Object eval(Expr e, Frame frame) {
        budget.step();
        return switch (e) {
            case Ast.Literal l -> l.value();
            case Ast.Name n -> {
                Object v = frame.lookup(n.name());
                yield v == Py.UNDEFINED ? new Py.Missing(n.name()) : v;
            }
            case Ast.ListExpr l -> {
                List<Object> items = new ArrayList<>(l.items().size());
                for (Expr x : l.items()) {
                    items.add(eval(x, frame));
                }
                yield l.tuple() ? new Py.Tuple(items) : items;
            }
            case Ast.DictExpr d -> {
                Map<Object, Object> m = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    m.put(eval(d.keys().get(i), frame), eval(d.values().get(i), frame));
                }
                yield m;
            }
            case Ast.GetAttr g -> Builtins.getAttr(eval(g.target(), frame), g.name());
            case Ast.GetItem g -> Builtins.getItem(eval(g.target(), frame), eval(g.key(), frame));
            case Ast.Slice s -> Builtins.slice(eval(s.target(), frame), optional(s.start(), frame),
                    optional(s.stop(), frame), optional(s.step(), frame));
            case Ast.Call c -> call(c, frame);
            case Ast.Filter f -> applyFilter(f, eval(f.value(), frame), frame);
            case Ast.Test t -> {
                List<Object> args = new ArrayList<>();
                for (Expr a : t.args()) {
                    args.add(eval(a, frame));
                }
                boolean r = Builtins.test(t.name(), eval(t.value(), frame), args);
                yield t.negated() != r;
            }
            case Ast.Unary u -> unary(u.op(), eval(u.operand(), frame));
            case Ast.Binary b -> binary(b, frame);
            case Ast.Compare c -> compare(c, frame);
            case Ast.Conditional c -> Py.truthy(eval(c.test(), frame)) ? eval(c.then(), frame)
                    : c.orElse() == null ? Py.UNDEFINED : eval(c.orElse(), frame);
        };
    }

    private Object optional(Expr e, Frame frame) {
        return e == null ? null : eval(e, frame);
    }

    private Object call(Ast.Call c, Frame frame) {
        Object fn = eval(c.function(), frame);
        List<Object> args = new ArrayList<>();
        for (Expr a : c.args()) {
            args.add(eval(a, frame));
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < c.kwNames().size(); i++) {
            kwargs.put(c.kwNames().get(i), eval(c.kwValues().get(i), frame));
        }
        if (fn instanceof Py.Callable callable) {
            return callable.call(this, args, kwargs);
        }
        if (fn instanceof Py.Missing m) {
            throw new TemplateException("'" + m.name() + "' is undefined");
        }
        throw new TemplateException("'" + Py.typeName(fn) + "' object is not callable");
    }

    private Object applyFilter(Ast.Filter f, Object value, Frame frame) {
        List<Object> args = new ArrayList<>();
        for (Expr a : f.args()) {
            args.add(eval(a, frame));
        }
        Map<String, Object> kwargs = new LinkedHashMap<>();
        for (int i = 0; i < f.kwNames().size(); i++) {
            kwargs.put(f.kwNames().get(i), eval(f.kwValues().get(i), frame));
        }
        return Builtins.filter(this, f.name(), value, args, kwargs);
    }

    private static Object unary(String op, Object v) {
        if (op.equals("not")) {
            return !Py.truthy(v);
        }
        Builtins.requireDefined(v);
        if (!Py.isNumber(v)) {
            throw new TemplateException("bad operand type for unary " + op + ": '" + Py.typeName(v) + "'");
        }
        if (op.equals("+")) {
            return Py.isIntLike(v) ? (Object) Py.toLong(v) : (Object) Py.toDouble(v);
        }
        return Py.isIntLike(v) ? (Object) Math.negateExact(Py.toLong(v)) : (Object) (-Py.toDouble(v));
    }

    private Object binary(Ast.Binary b, Frame frame) {
        Object left = eval(b.left(), frame);
        switch (b.op()) {
            case "and" -> {
                return Py.truthy(left) ? eval(b.right(), frame) : left;
            }
            case "or" -> {
                return Py.truthy(left) ? left : eval(b.right(), frame);
            }
            default -> {
            }
        }
        Object right = eval(b.right(), frame);
        if (b.op().equals("~")) {
            String l = Py.str(left);
            String r = Py.str(right);
            budget.checkChars((long) l.length() + r.length(), "'~'");
            return l + r;
        }
        return Arithmetic.apply(budget, b.op(), left, right);
    }

    private Object compare(Ast.Compare c, Frame frame) {
        Object left = eval(c.first(), frame);
        for (int i = 0; i < c.ops().size(); i++) {
            Object right = eval(c.rest().get(i), frame);
            String op = c.ops().get(i);
            boolean r = switch (op) {
                case "==" -> Py.eq(left, right);
                case "!=" -> !Py.eq(left, right);
                case "<" -> Py.compare(left, right, op) < 0;
                case ">" -> Py.compare(left, right, op) > 0;
                case "<=" -> Py.compare(left, right, op) <= 0;
                case ">=" -> Py.compare(left, right, op) >= 0;
                case "in" -> Builtins.contains(right, left);
                case "not in" -> !Builtins.contains(right, left);
                default -> throw new IllegalStateException(op);
            };
            if (!r) {
                return false;
            }
            left = right;
        }
        return true;
    }
}
