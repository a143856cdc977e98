package io.tessera.server.jinja;

import java.util.List;

/** The parsed template: statements ({@link Node}) and expressions ({@link Expr}). */
final class Ast {
    private Ast() {
    }

    sealed interface Node {
    }

    record Text(String text) implements Node {
    }

    record Output(Expr value) implements Node {
    }

    record If(List<Expr> tests, List<List<Node>> bodies, List<Node> orElse) implements Node {
    }

    record For(List<String> targets, Expr iterable, Expr condition, List<Node> body, List<Node> orElse)
            implements Node {
    }

    /** {@code set a = v}, {@code set a, b = v}, or {@code set ns.attr = v} (then {@code attribute} is not null). */
    record Set(List<String> targets, String attribute, Expr value) implements Node {
    }

    record SetBlock(String target, List<Node> body) implements Node {
    }

    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body) implements Node {
    }

    record FilterBlock(Filter filter, List<Node> body) implements Node {
    }

    record Block(List<Node> body) implements Node {
    }

    record Break() implements Node {
    }

    record Continue() implements Node {
    }

    sealed interface Expr {
    }

    record Literal(Object value) implements Expr {
    }

    record Name(String name) implements Expr {
    }

    /** A list literal, or a tuple (parenthesised or bare, comma-separated). */
    record ListExpr(List<Expr> items, boolean tuple) implements Expr {
    }

    record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {
    }

    record GetAttr(Expr target, String name) implements Expr {
    }

    record GetItem(Expr target, Expr key) implements Expr {
    }

    record Slice(Expr target, Expr start, Expr stop, Expr step) implements Expr {
    }

    record Call(Expr function, List<Expr> args, List<String> kwNames, List<Expr> kwValues) implements Expr {
    }

    /** {@code value|name(args)}; value is null in a filter block, which applies it to the block's output. */
    record Filter(Expr value, String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues)
            implements Expr {
    }

    record Test(Expr value, String name, List<Expr> args, boolean negated) implements Expr {
    }

    record Unary(String op, Expr operand) implements Expr {
    }

    record Binary(String op, Expr left, Expr right) implements Expr {
    }

    record Compare(Expr first, List<String> ops, List<Expr> rest) implements Expr {
    }

    /** {@code then if test else orElse}; orElse null means Undefined. */
    record Conditional(Expr test, Expr then, Expr orElse) implements Expr {
    }
}
