"""The rule engine: everything about a rule document that needs no database, web server or queue.

- `document`: the strict parser, the schema and the canonical text and hash of a rule document;
- `logic`: JSON Logic, validated (`validate`), evaluated for one citizen (`evaluate`) and compiled
  to polars columns for a whole population (`compile`);
- `lint`: the findings a rule document earns on its own;
- `governance`: the principle checks every rule must keep (their protocol and the built-in set);
- `simulation`: a rule over a population frame, its figures and findings, and the budget check;
- `figures`: money and people as the CLI, the findings and the pages print them (on Babel);
- `population`: the synthetic population; `datasets`: reading an uploaded one.

It imports nothing from Django or the portal (a contract in `make lint` keeps it so), so a
scale-out worker or another project can use it as it is.
"""
