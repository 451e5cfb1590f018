"""marshmallow schemas: what a request may send (load) and what it gets back (dump).

Load and dump shapes are separate classes. Schemas never query the database
or read the current user; views and services do.
"""
