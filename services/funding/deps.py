"""Funding's typed dependencies."""

from typing import Annotated

from fastapi import Depends, Request

from services.funding.peers import Peers


def _peers(request: Request) -> Peers:
    return request.app.state.peers


PeersDep = Annotated[Peers, Depends(_peers)]
