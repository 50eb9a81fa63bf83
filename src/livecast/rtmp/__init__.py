"""rtmp"""
