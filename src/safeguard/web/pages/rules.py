"""(being written)"""

from fastapi import APIRouter

from safeguard.web.render import HtmlRoute

router = APIRouter(route_class=HtmlRoute)
