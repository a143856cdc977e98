package io.tessera.server.jinja;

import java.util.ArrayList;
import java.util.List;

/** Python's binary arithmetic on template values, with the sizes of built strings and lists bounded first. */
final class Arithmetic {
    private Arithmetic() {
    }

    static Object apply(Budget budget, String op, Object a, Object b) {
        Builtins.requireDefined(a);
        Builtins.requireDefined(b);
        if (Py.isNumber(a) && Py.isNumber(b)) {
            return numeric(op, a, b);
        }
        switch (op) {
            case "+" -> {
                if (a instanceof String x && b instanceof String y) {
                    budget.checkChars((long) x.length() + y.length(), "'+'");
                    return x + y;
                }
                if (a instanceof List<?> x && b instanceof List<?> y) {
                    budget.checkList((long) x.size() + y.size());
                    List<Object> r = new ArrayList<>(x);
                    r.addAll(y);
                    return r;
                }
            }
            case "*" -> {
                if (a instanceof String s && Py.isIntLike(b) || b instanceof String && Py.isIntLike(a)) {
                    String s = (String) (a instanceof String ? a : b);
                    long n = Math.max(0, Py.toLong(a instanceof String ? b : a));
                    budget.checkChars(s.length() * Math.min(n, Integer.MAX_VALUE), "'*'");
                    return s.repeat((int) n);
                }
                if (a instanceof List<?> l && Py.isIntLike(b) || b instanceof List<?> && Py.isIntLike(a)) {
                    List<?> l = (List<?>) (a instanceof List<?> ? a : b);
                    long n = Math.max(0, Py.toLong(a instanceof List<?> ? b : a));
                    budget.checkList(l.size() * Math.min(n, Integer.MAX_VALUE));
                    List<Object> r = new ArrayList<>();
                    for (long i = 0; i < n; i++) {
                        r.addAll(l);
                    }
                    return r;
                }
            }
            default -> {
            }
        }
        throw new TemplateException("unsupported operand type(s) for " + op + ": '" + Py.typeName(a) + "' and '"
                + Py.typeName(b) + "'");
    }

    private static Object numeric(String op, Object a, Object b) {
        boolean ints = Py.isIntLike(a) && Py.isIntLike(b);
        try {
            if (ints) {
                long x = Py.toLong(a);
                long y = Py.toLong(b);
                return switch (op) {
                    case "+" -> Math.addExact(x, y);
                    case "-" -> Math.subtractExact(x, y);
                    case "*" -> Math.multiplyExact(x, y);
                    case "/" -> {
                        zero(y);
                        yield (double) x / y;
                    }
                    case "//" -> {
                        zero(y);
                        yield Math.floorDiv(x, y);
                    }
                    case "%" -> {
                        zero(y);
                        yield Math.floorMod(x, y);
                    }
                    case "**" -> y < 0 ? (Object) Math.pow(x, y) : (Object) power(x, y);
                    default -> throw new IllegalStateException(op);
                };
            }
        } catch (ArithmeticException e) {
            throw new TemplateException("integer overflow in '" + op + "'");
        }
        double x = Py.toDouble(a);
        double y = Py.toDouble(b);
        return switch (op) {
            case "+" -> x + y;
            case "-" -> x - y;
            case "*" -> x * y;
            case "/" -> {
                zero(y);
                yield x / y;
            }
            case "//" -> {
                zero(y);
                yield Math.floor(x / y);
            }
            case "%" -> {
                zero(y);
                double m = x % y;
                yield m != 0 && (m < 0) != (y < 0) ? m + y : m;
            }
            case "**" -> Math.pow(x, y);
            default -> throw new IllegalStateException(op);
        };
    }

    private static long power(long base, long exp) {
        if (base == 0 || base == 1) {
            return exp == 0 ? 1 : base;
        }
        if (base == -1) {
            return exp % 2 == 0 ? 1 : -1;
        }
        long r = 1; // |base| >= 2 overflows within 63 steps
        for (long i = 0; i < exp; i++) {
            r = Math.multiplyExact(r, base);
        }
        return r;
    }

    private static void zero(double y) {
        if (y == 0) {
            throw new TemplateException("division by zero");
        }
    }
}
