"""The files that cross stages, as typed records with their readers and writers (one module per file).

This package is below every stage: any stage may import it, and it imports none.
"""
