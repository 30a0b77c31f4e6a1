// A POS terminal's use of flexiti-auth, in C++17 with the header-only wrapper flexiti_auth.hpp.
// The same program as pos_terminal.c:
//
//   pos_terminal_cpp [SESSION_FILE]    (default: $FLEXITI_SESSION_FILE, else pos-session.json)
//
// Environment: FLEXITI_API_URL, FLEXITI_CLIENT_ID, and the secret as FLEXITI_CLIENT_SECRET_FILE
// (a file whose first line is the secret; preferred) or FLEXITI_CLIENT_SECRET.
// Optional: FLEXITI_TOKEN_PATH (e.g. flexiti/pos-api/v2.5/oauth/token).
//
// It prints its decisions, never the secret and never a whole token (a 6-character prefix).
//
// Build: c++ -std=c++17 pos_terminal.cpp $(pkg-config --cflags --libs flexiti_auth)

#include "flexiti_auth.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

// First line of $FLEXITI_CLIENT_SECRET_FILE, else $FLEXITI_CLIENT_SECRET.
std::optional<std::string> read_secret() {
    const std::string path = env("FLEXITI_CLIENT_SECRET_FILE");
    if (!path.empty()) {
        std::ifstream in(path);
        std::string line;
        if (!in || !std::getline(in, line) || line.empty()) {
            std::cerr << "cannot read a secret from FLEXITI_CLIENT_SECRET_FILE " << path << "\n";
            return std::nullopt;
        }
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }
    std::string secret = env("FLEXITI_CLIENT_SECRET");
    if (secret.empty()) {
        std::cerr << "set FLEXITI_CLIENT_SECRET_FILE (or FLEXITI_CLIENT_SECRET)\n";
        return std::nullopt;
    }
    return secret;
}

std::optional<std::string> read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream all;
    all << in.rdbuf();
    return all.str();
}

// Atomically (temporary file + rename), readable by the owner only: the session holds the
// refresh token.
bool save_private(const std::string& path, const std::string& data) {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    bool ok = fd >= 0 && ::fchmod(fd, 0600) == 0 &&
              ::write(fd, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    if (fd >= 0 && ::close(fd) != 0) ok = false;
    if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) ok = false;
    if (!ok) {
        std::perror(("cannot save the session to " + path).c_str());
        ::unlink(tmp.c_str());
    }
    return ok;
}

std::string prefix(const std::string& token) { return token.substr(0, 6) + "..."; }

}  // namespace

int main(int argc, char** argv) {
    const std::string url = env("FLEXITI_API_URL");
    const std::string client_id = env("FLEXITI_CLIENT_ID");
    std::string session_file = argc > 1 ? argv[1] : env("FLEXITI_SESSION_FILE");
    if (session_file.empty()) session_file = "pos-session.json";
    if (url.empty() || client_id.empty()) {
        std::cerr << "usage: " << argv[0] << " [SESSION_FILE]\n  set FLEXITI_API_URL, FLEXITI_CLIENT_ID and "
                  << "FLEXITI_CLIENT_SECRET_FILE (or FLEXITI_CLIENT_SECRET)\n";
        return 2;
    }
    std::optional<std::string> secret = read_secret();
    if (!secret) return 2;

    std::cout << "flexiti-auth " << flexiti::Client::version() << ", API " << url << "\n";
    std::string step = "configuration";
    try {
        flexiti::Client client(url, client_id, *secret);
        secret->assign(secret->size(), '\0');  // the client keeps its own copy
        // A till must not hang: 10 s for the whole token request, one retry.
        client.set_option("timeout_ms", 10000);
        client.set_option("max_retries", 1);
        if (const std::string path = env("FLEXITI_TOKEN_PATH"); !path.empty()) client.set_option("token_path", path);

        // 1. The token kept by the previous run: refreshing it avoids a new client_credentials grant.
        step = "session restore";
        if (std::optional<std::string> saved = read_file(session_file)) {
            try {
                client.import_session(*saved);
                std::cout << "session: restored from " << session_file
                          << ", the purchase refreshes it (a new one if refused)\n";
            } catch (const flexiti::SessionError& e) {
                std::cout << "session: " << session_file << " not usable (" << e.what()
                          << "), the purchase asks for a new token\n";
            }
        } else {
            std::cout << "session: no " << session_file << " yet, the purchase asks for a new token\n";
        }

        // 2. Purchase (or apply) flow: start with a full token lifetime.
        step = "purchase";
        const std::string purchase = client.access_token();
        std::cout << "purchase: token with a full lifetime (use_cache=false): " << prefix(purchase) << "\n";

        // 3. Price calculator: the held token as long as it is valid, no request.
        step = "price calculator";
        const std::string price = client.access_token(true);
        std::cout << "price calculator: cached token (use_cache=true): " << prefix(price)
                  << " (same as the purchase: " << (price == purchase ? "yes" : "no") << ")\n";

        // 4. Keep the token for the next run.
        step = "session export";
        const std::string session = client.export_session();
        if (!save_private(session_file, session)) return 1;
        std::cout << "session: saved to " << session_file << " (" << session.size() << " bytes, mode 0600)\n";
        return 0;
    } catch (const flexiti::NetworkError& e) {
        std::cerr << step << ": FAILED: " << e.what()
                  << "\n  decision: Flexiti unreachable: keep the sale open and retry, or take another payment method\n";
    } catch (const flexiti::HttpStatusError& e) {
        std::cerr << step << ": FAILED: " << e.what() << "\n  decision: Flexiti answered with an error status: retry later\n";
    } catch (const flexiti::AuthRejectedError& e) {
        std::cerr << step << ": FAILED: " << e.what()
                  << "\n  decision: credentials refused: check FLEXITI_CLIENT_ID and the secret\n";
    } catch (const flexiti::BadResponseError& e) {
        std::cerr << step << ": FAILED: " << e.what()
                  << "\n  decision: unusable answer from the token endpoint: check FLEXITI_API_URL\n";
    } catch (const flexiti::InvalidArgumentError& e) {
        std::cerr << step << ": FAILED: " << e.what() << "\n  decision: configuration error\n";
        return 2;
    } catch (const flexiti::Error& e) {
        std::cerr << step << ": FAILED: " << e.what() << " [status " << e.status() << "]\n  decision: unexpected error\n";
    }
    return 1;
}
