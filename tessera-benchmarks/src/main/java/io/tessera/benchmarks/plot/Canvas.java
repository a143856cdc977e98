package io.tessera.benchmarks.plot;

/** The drawing operations a chart uses; one drawing routine serves both surfaces (PNG and SVG). */
public interface Canvas {

    void rect(double x, double y, double w, double h, String color);

    void line(double x1, double y1, double x2, double y2, String color, double width);

    /** Text at (x, y), anchored "start", "middle" or "end". */
    void text(double x, double y, String s, int size, boolean bold, String anchor);
}
