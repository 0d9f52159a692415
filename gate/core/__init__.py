"""The pure core: values in, values out. No I/O, no environment, no aiohttp, no jinja2."""
