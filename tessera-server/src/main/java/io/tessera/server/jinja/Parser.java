package io.tessera.server.jinja;

import io.tessera.server.jinja.Ast.Expr;
import io.tessera.server.jinja.Ast.Node;
import io.tessera.server.jinja.Lexer.Token;
import io.tessera.server.jinja.Lexer.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/** Jinja2's grammar (its parser's precedence and statement forms) over the {@link Lexer}'s tokens. */
final class Parser {
    private static final Set<String> COMPARE = Set.of("==", "!=", "<", ">", "<=", ">=");
    /** Deepest nesting of statements and expressions: a parse never recurses without bound. */
    private static final int MAX_DEPTH = 200;

    private final List<Token> tokens;
    private int pos;
    private int depth;

    private Parser(List<Token> tokens) {
        this.tokens = tokens;
    }

    static List<Node> parse(String source) {
        Parser p = new Parser(Lexer.tokenize(source));
        List<Node> body = p.nodes(Set.of());
        if (p.peek().type() != Type.EOF) {
            throw p.error("unexpected '" + p.peek().value() + "'");
        }
        return body;
    }

    private Token peek() {
        return tokens.get(pos);
    }

    private Token peek(int ahead) {
        return tokens.get(Math.min(pos + ahead, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(pos);
        if (t.type() != Type.EOF) {
            pos++;
        }
        return t;
    }

    private TemplateException error(String message) {
        return new TemplateException("syntax error on line " + peek().line() + ": " + message);
    }

    private void expectOp(String op) {
        if (!peek().isOp(op)) {
            throw error("expected '" + op + "', got '" + describe(peek()) + "'");
        }
        next();
    }

    private String expectName() {
        if (peek().type() != Type.NAME) {
            throw error("expected a name, got '" + describe(peek()) + "'");
        }
        return next().value();
    }

    private void expectBlockEnd() {
        if (peek().type() != Type.BLOCK_END) {
            throw error("expected the end of the statement, got '" + describe(peek()) + "'");
        }
        next();
    }

    private static String describe(Token t) {
        return switch (t.type()) {
            case EOF -> "end of template";
            case BLOCK_END -> "%}";
            case VAR_END -> "}}";
            default -> t.value();
        };
    }

    private void enter() {
        if (++depth > MAX_DEPTH) {
            throw error("the template nests deeper than " + MAX_DEPTH + " levels");
        }
    }

    /** Nodes up to one of the end tags (the {@code {%} and tag name are left for the caller). */
    private List<Node> nodes(Set<String> endTags) {
        enter();
        List<Node> out = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.type()) {
                case EOF -> {
                    if (!endTags.isEmpty()) {
                        throw error("unexpected end of template, expected one of " + endTags);
                    }
                    depth--;
                    return out;
                }
                case TEXT -> out.add(new Ast.Text(next().value()));
                case VAR_BEGIN -> {
                    next();
                    out.add(new Ast.Output(tuple()));
                    if (peek().type() != Type.VAR_END) {
                        throw error("expected '}}', got '" + describe(peek()) + "'");
                    }
                    next();
                }
                case BLOCK_BEGIN -> {
                    if (peek(1).type() == Type.NAME && endTags.contains(peek(1).value())) {
                        depth--;
                        return out;
                    }
                    next();
                    out.add(statement());
                }
                default -> throw error("unexpected '" + describe(t) + "'");
            }
        }
    }

    /** Consumes {@code {% name}. */
    private void endTag(String name) {
        next();
        if (!peek().isName(name)) {
            throw error("expected '" + name + "'");
        }
        next();
    }

    private Node statement() {
        String keyword = expectName();
        return switch (keyword) {
            case "if" -> ifStatement();
            case "for" -> forStatement();
            case "set" -> setStatement();
            case "macro" -> macro();
            case "break" -> {
                expectBlockEnd();
                yield new Ast.Break();
            }
            case "continue" -> {
                expectBlockEnd();
                yield new Ast.Continue();
            }
            case "filter" -> {
                Ast.Filter f = filter(null);
                expectBlockEnd();
                List<Node> body = nodes(Set.of("endfilter"));
                endTag("endfilter");
                expectBlockEnd();
                yield new Ast.FilterBlock(f, body);
            }
            case "generation" -> { // Hugging Face's marker of assistant text: renders its body
                expectBlockEnd();
                List<Node> body = nodes(Set.of("endgeneration"));
                endTag("endgeneration");
                expectBlockEnd();
                yield new Ast.Block(body);
            }
            default -> throw new TemplateException("syntax error on line " + peek().line() + ": unknown tag '"
                    + keyword + "'");
        };
    }

    private Node ifStatement() {
        List<Expr> tests = new ArrayList<>();
        List<List<Node>> bodies = new ArrayList<>();
        List<Node> orElse = List.of();
        tests.add(tuple());
        expectBlockEnd();
        Set<String> ends = Set.of("elif", "else", "endif");
        while (true) {
            bodies.add(nodes(ends));
            next();
            String tag = next().value();
            if (tag.equals("elif")) {
                tests.add(tuple());
                expectBlockEnd();
            } else if (tag.equals("else")) {
                expectBlockEnd();
                orElse = nodes(Set.of("endif"));
                endTag("endif");
                expectBlockEnd();
                break;
            } else {
                expectBlockEnd();
                break;
            }
        }
        return new Ast.If(tests, bodies, orElse);
    }

    private Node forStatement() {
        List<String> targets = new ArrayList<>();
        boolean parens = peek().isOp("(");
        if (parens) {
            next();
        }
        targets.add(expectName());
        while (peek().isOp(",")) {
            next();
            if (peek().type() != Type.NAME) {
                break;
            }
            targets.add(expectName());
        }
        if (parens) {
            expectOp(")");
        }
        if (!peek().isName("in")) {
            throw error("expected 'in' in the for loop");
        }
        next();
        Expr iterable = tupleNoCondition();
        Expr condition = null;
        if (peek().isName("if")) {
            next();
            condition = expression();
        }
        if (peek().isName("recursive")) {
            throw error("recursive loops are not supported");
        }
        expectBlockEnd();
        List<Node> body = nodes(Set.of("else", "endfor"));
        List<Node> orElse = List.of();
        next();
        if (next().value().equals("else")) {
            expectBlockEnd();
            orElse = nodes(Set.of("endfor"));
            endTag("endfor");
        }
        expectBlockEnd();
        return new Ast.For(targets, iterable, condition, body, orElse);
    }

    private Node setStatement() {
        String first = expectName();
        if (peek().isOp(".")) {
            next();
            String attribute = expectName();
            expectOp("=");
            Expr value = tuple();
            expectBlockEnd();
            return new Ast.Set(List.of(first), attribute, value);
        }
        List<String> targets = new ArrayList<>(List.of(first));
        while (peek().isOp(",")) {
            next();
            targets.add(expectName());
        }
        if (peek().type() == Type.BLOCK_END && targets.size() == 1) {
            next();
            List<Node> body = nodes(Set.of("endset"));
            endTag("endset");
            expectBlockEnd();
            return new Ast.SetBlock(first, body);
        }
        expectOp("=");
        Expr value = tuple();
        expectBlockEnd();
        return new Ast.Set(targets, null, value);
    }

    private Node macro() {
        String name = expectName();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        expectOp("(");
        while (!peek().isOp(")")) {
            if (!params.isEmpty()) {
                expectOp(",");
            }
            params.add(expectName());
            if (peek().isOp("=")) {
                next();
                defaults.add(expression());
            } else if (!defaults.isEmpty()) {
                throw error("a macro parameter without a default follows one with a default");
            }
        }
        next();
        expectBlockEnd();
        List<Node> body = nodes(Set.of("endmacro"));
        endTag("endmacro");
        if (peek().type() == Type.NAME) {
            next();
        }
        expectBlockEnd();
        return new Ast.Macro(name, params, defaults, body);
    }

    // ---------------------------------------------------------------- expressions

    /** An expression, or several separated by commas (a tuple). */
    private Expr tuple() {
        return tupleOf(this::expression);
    }

    /** The iterable of a for loop: no conditional expression ({@code if} starts the loop's filter). */
    private Expr tupleNoCondition() {
        return tupleOf(this::or);
    }

    /** One item, or several separated by commas (a tuple, a trailing comma allowed). */
    private Expr tupleOf(Supplier<Expr> item) {
        Expr first = item.get();
        if (!peek().isOp(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (peek().isOp(",")) {
            next();
            if (atTupleEnd()) {
                break;
            }
            items.add(item.get());
        }
        return new Ast.ListExpr(items, true);
    }

    private boolean atTupleEnd() {
        Type t = peek().type();
        return t == Type.VAR_END || t == Type.BLOCK_END || t == Type.EOF || peek().isOp(")")
                || peek().isName("if");
    }

    Expr expression() {
        enter();
        Expr e = or();
        while (peek().isName("if")) {
            next();
            Expr test = or();
            Expr orElse = null;
            if (peek().isName("else")) {
                next();
                orElse = expression();
            }
            e = new Ast.Conditional(test, e, orElse);
        }
        depth--;
        return e;
    }

    private Expr or() {
        Expr e = and();
        while (peek().isName("or")) {
            next();
            e = new Ast.Binary("or", e, and());
        }
        return e;
    }

    private Expr and() {
        Expr e = not();
        while (peek().isName("and")) {
            next();
            e = new Ast.Binary("and", e, not());
        }
        return e;
    }

    private Expr not() {
        if (peek().isName("not")) {
            next();
            enter();
            Expr e = new Ast.Unary("not", not());
            depth--;
            return e;
        }
        return compare();
    }

    private Expr compare() {
        Expr first = math1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.type() == Type.OP && COMPARE.contains(t.value())) {
                next();
                ops.add(t.value());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && peek(1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            rest.add(math1());
        }
        return ops.isEmpty() ? first : new Ast.Compare(first, ops, rest);
    }

    private Expr math1() {
        Expr e = concat();
        while (peek().isOp("+") || peek().isOp("-")) {
            String op = next().value();
            e = new Ast.Binary(op, e, concat());
        }
        return e;
    }

    private Expr concat() {
        Expr e = math2();
        while (peek().isOp("~")) {
            next();
            e = new Ast.Binary("~", e, math2());
        }
        return e;
    }

    private Expr math2() {
        Expr e = pow();
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            String op = next().value();
            e = new Ast.Binary(op, e, pow());
        }
        return e;
    }

    private Expr pow() {
        Expr e = unary(true);
        while (peek().isOp("**")) {
            next();
            e = new Ast.Binary("**", e, unary(true));
        }
        return e;
    }

    private Expr unary(boolean withFilter) {
        enter();
        Expr e;
        if (peek().isOp("-") || peek().isOp("+")) {
            String op = next().value();
            e = new Ast.Unary(op, unary(false));
        } else {
            e = primary();
        }
        e = postfix(e);
        if (withFilter) {
            e = filters(e);
        }
        depth--;
        return e;
    }

    private Expr primary() {
        Token t = next();
        switch (t.type()) {
            case NAME -> {
                return switch (t.value()) {
                    case "true", "True" -> new Ast.Literal(Boolean.TRUE);
                    case "false", "False" -> new Ast.Literal(Boolean.FALSE);
                    case "none", "None" -> new Ast.Literal(null);
                    default -> new Ast.Name(t.value());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.value());
                while (peek().type() == Type.STRING) {
                    sb.append(next().value());
                }
                return new Ast.Literal(sb.toString());
            }
            case INT -> {
                try {
                    return new Ast.Literal(Long.parseLong(t.value()));
                } catch (NumberFormatException e) {
                    throw error("integer literal too large: " + t.value());
                }
            }
            case FLOAT -> {
                return new Ast.Literal(Double.parseDouble(t.value()));
            }
            case OP -> {
                switch (t.value()) {
                    case "(" -> {
                        if (peek().isOp(")")) {
                            next();
                            return new Ast.ListExpr(List.of(), true);
                        }
                        Expr e = expression();
                        if (peek().isOp(",")) {
                            List<Expr> items = new ArrayList<>(List.of(e));
                            while (peek().isOp(",")) {
                                next();
                                if (peek().isOp(")")) {
                                    break;
                                }
                                items.add(expression());
                            }
                            e = new Ast.ListExpr(items, true);
                        }
                        expectOp(")");
                        return e;
                    }
                    case "[" -> {
                        List<Expr> items = new ArrayList<>();
                        while (!peek().isOp("]")) {
                            if (!items.isEmpty()) {
                                expectOp(",");
                                if (peek().isOp("]")) {
                                    break;
                                }
                            }
                            items.add(expression());
                        }
                        next();
                        return new Ast.ListExpr(items, false);
                    }
                    case "{" -> {
                        List<Expr> keys = new ArrayList<>();
                        List<Expr> values = new ArrayList<>();
                        while (!peek().isOp("}")) {
                            if (!keys.isEmpty()) {
                                expectOp(",");
                                if (peek().isOp("}")) {
                                    break;
                                }
                            }
                            keys.add(expression());
                            expectOp(":");
                            values.add(expression());
                        }
                        next();
                        return new Ast.DictExpr(keys, values);
                    }
                    default -> {
                    }
                }
            }
            default -> {
            }
        }
        pos--;
        throw error("unexpected '" + describe(t) + "'");
    }

    private Expr postfix(Expr e) {
        while (true) {
            if (peek().isOp(".")) {
                next();
                Token t = next();
                if (t.type() == Type.NAME) {
                    e = new Ast.GetAttr(e, t.value());
                } else if (t.type() == Type.INT) {
                    e = new Ast.GetItem(e, new Ast.Literal(Long.parseLong(t.value())));
                } else {
                    throw error("expected an attribute name after '.'");
                }
            } else if (peek().isOp("[")) {
                next();
                e = subscript(e);
            } else if (peek().isOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Expr subscript(Expr target) {
        Expr[] parts = new Expr[3];
        int part = 0;
        boolean slice = false;
        while (!peek().isOp("]")) {
            if (peek().isOp(":")) {
                next();
                slice = true;
                if (++part > 2) {
                    throw error("too many ':' in a slice");
                }
            } else {
                if (parts[part] != null) {
                    throw error("expected ']' or ':'");
                }
                parts[part] = expression();
            }
        }
        next();
        if (!slice) {
            if (parts[0] == null) {
                throw error("expected a subscript");
            }
            return new Ast.GetItem(target, parts[0]);
        }
        return new Ast.Slice(target, parts[0], parts[1], parts[2]);
    }

    /** A call's arguments: positional, then {@code name=value}. */
    private record Args(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {
    }

    private Args args() {
        expectOp("(");
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        while (!peek().isOp(")")) {
            if (!args.isEmpty() || !kwNames.isEmpty()) {
                expectOp(",");
                if (peek().isOp(")")) {
                    break;
                }
            }
            if (peek().type() == Type.NAME && peek(1).isOp("=")) {
                kwNames.add(next().value());
                next();
                kwValues.add(expression());
            } else {
                if (!kwNames.isEmpty()) {
                    throw error("a positional argument follows a keyword argument");
                }
                args.add(expression());
            }
        }
        next();
        return new Args(args, kwNames, kwValues);
    }

    private Expr call(Expr function) {
        Args a = args();
        return new Ast.Call(function, a.args(), a.kwNames(), a.kwValues());
    }

    private Expr filters(Expr e) {
        while (true) {
            if (peek().isOp("|")) {
                next();
                e = filter(e);
            } else if (peek().isName("is")) {
                next();
                e = test(e);
            } else if (peek().isOp("(")) {
                e = call(e);
            } else {
                return e;
            }
        }
    }

    private Ast.Filter filter(Expr value) {
        String name = expectName();
        while (peek().isOp(".")) {
            next();
            name += "." + expectName();
        }
        if (peek().isOp("(")) {
            Args a = args();
            return new Ast.Filter(value, name, a.args(), a.kwNames(), a.kwValues());
        }
        return new Ast.Filter(value, name, List.of(), List.of(), List.of());
    }

    private Expr test(Expr value) {
        boolean negated = false;
        if (peek().isName("not")) {
            next();
            negated = true;
        }
        String name = expectName();
        List<Expr> args = List.of();
        if (peek().isOp("(")) {
            Args a = args();
            args = a.args();
        } else {
            Token t = peek();
            boolean startsArgument = t.type() == Type.STRING || t.type() == Type.INT || t.type() == Type.FLOAT
                    || t.isOp("(") || t.isOp("[") || t.isOp("{")
                    || (t.type() == Type.NAME && !Set.of("else", "or", "and", "is", "if", "in", "not").contains(
                            t.value()));
            if (startsArgument) {
                args = List.of(postfix(primary()));
            }
        }
        return new Ast.Test(value, name, args, negated);
    }
}
