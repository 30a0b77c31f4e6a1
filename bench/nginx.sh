#!/usr/bin/env bash
# Loopback nginx answering the token endpoint with a fixed token, over HTTP and HTTPS.
#   source bench/nginx.sh; nginx_start DIR   → sets NGINX_HTTP_URL, NGINX_HTTPS_URL, NGINX_CA,
#                                              NGINX_WORKER (pid of its one worker process)
#   nginx_stop
# The HTTPS certificate is a leaf (SAN IP:127.0.0.1, DNS:localhost) signed by a throwaway local
# CA (rustls refuses a self-signed CA certificate used as the server's own). ECDSA P-256: the
# cheapest common handshake, which makes the "10x the guide's flow" target harder, not easier.

nginx_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# A JSON token answer with an access token of $1 bytes (refresh token 64 bytes).
nginx_token_json() {
  local n=$1
  python3 -c "import sys; n=int(sys.argv[1]); print('{\"token_type\":\"bearer\",\"access_token\":\"' + ('A'*n) + '\",\"expires_in\":1200,\"refresh_token\":\"' + ('R'*64) + '\"}', end='')" "$n"
}

nginx_start() {
  local dir=$1
  mkdir -p "$dir/logs" "$dir/tokens" "$dir/tmp"
  # Certificates: local CA, then a leaf for 127.0.0.1 / localhost.
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 2 -subj "/CN=flexiti-bench local CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.pem" 2>/dev/null
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/leaf.key" 2>/dev/null
  openssl req -new -key "$dir/leaf.key" -subj "/CN=127.0.0.1" -out "$dir/leaf.csr" 2>/dev/null
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$dir/leaf.ext"
  openssl x509 -req -in "$dir/leaf.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 -sha256 \
    -extfile "$dir/leaf.ext" -out "$dir/leaf.pem" 2>/dev/null
  # Token answers of several sizes as files (nginx's `return` is limited to one config token;
  # a POST to a static file is a 405, turned into the file by error_page).
  local size
  for size in 40 1024 8192 65536; do nginx_token_json "$size" > "$dir/tokens/t$size.json"; done
  local http_port https_port
  http_port=$(nginx_free_port); https_port=$(nginx_free_port)
  local fixed
  fixed=$(cat "$dir/tokens/t40.json")
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  tcp_nodelay on;
  server_tokens off;
  server {
    listen 127.0.0.1:$http_port;
    listen 127.0.0.1:$https_port ssl;
    ssl_certificate $dir/leaf.pem;
    ssl_certificate_key $dir/leaf.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    root $dir/tokens;
    default_type application/json;
    location ~ ^/size/(\d+)/ {
      try_files /t\$1.json =404;
      error_page 405 =200 \$uri;
    }
    location ~ /oauth/token\$ {
      return 200 '$fixed';
    }
    # A POS-API style answer for the authenticated GET round trip (api_roundtrip.php).
    location = /flexiti/pos-api/v2.5/ping {
      return 200 '{"status":"ok","terminal":"T-0042","server_time":"2026-11-30T09:00:00Z"}';
    }
    location = /_status { stub_status; }
  }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" || return 1
  NGINX_DIR=$dir
  NGINX_HTTP_URL="http://127.0.0.1:$http_port/"
  NGINX_HTTPS_URL="https://127.0.0.1:$https_port/"
  NGINX_CA="$dir/ca.pem"
  local i
  for i in $(seq 50); do
    if curl -s -o /dev/null --noproxy '*' "${NGINX_HTTP_URL}_status"; then
      NGINX_WORKER=$(pgrep -P "$(cat "$dir/nginx.pid")" | head -n 1)
      [ -n "$NGINX_WORKER" ] && return 0
    fi
    sleep 0.1
  done
  echo "nginx did not answer on $NGINX_HTTP_URL" >&2
  return 1
}

nginx_stop() {
  if [ -n "${NGINX_DIR:-}" ] && [ -f "$NGINX_DIR/nginx.pid" ]; then
    nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/logs/error.log" -s stop 2>/dev/null || true
  fi
}
