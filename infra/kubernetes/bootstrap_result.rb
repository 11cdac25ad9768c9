# frozen_string_literal: true

# Kubernetes target: stores bootstrap.rb's result line in the result Secret, through the API with
# the pod's ServiceAccount (its Role allows get and patch of that one Secret). The line carries the
# API and platform tokens, so it is never printed; errors name the step and the HTTP status only.
#
#   ruby bootstrap_result.rb OUTPUT_FILE
#
# Environment: CHATWOOT_BOOTSTRAP_RESULT_SECRET (the Secret's name). KUBERNETES_API_URL,
# KUBERNETES_TOKEN_FILE, KUBERNETES_CA_FILE and KUBERNETES_NAMESPACE_FILE default to the pod's
# in-cluster values (tests point them at a local kube-apiserver).
require 'base64'
require 'json'
require 'net/http'
require 'openssl'
require 'uri'

MARKER = 'CHATWOOT_BOOTSTRAP_RESULT '
REQUIRED = %w[account_id inbox_id inbox_identifier api_access_token platform_token].freeze
SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount'

def fail!(message)
  warn "bootstrap_result.rb: #{message}"
  exit 1
end

def result_line(path)
  fail!("no bootstrap output at #{path}") unless File.readable?(path)
  line = File.readlines(path, chomp: true).reverse.find { |l| l.start_with?(MARKER) }
  fail!('the bootstrap printed no result line') unless line
  json = line.delete_prefix(MARKER)
  parsed = begin
    JSON.parse(json)
  rescue JSON::ParserError
    fail!('the result line is not JSON')
  end
  missing = REQUIRED.reject { |k| parsed.is_a?(Hash) && !parsed[k].nil? }
  fail!("the result lacks #{missing.join(', ')}") unless missing.empty?
  json
end

def api_uri
  url = ENV['KUBERNETES_API_URL']
  url ||= "https://#{ENV.fetch('KUBERNETES_SERVICE_HOST')}:#{ENV.fetch('KUBERNETES_SERVICE_PORT', '443')}"
  URI(url)
rescue KeyError, URI::InvalidURIError
  fail!('no Kubernetes API address (KUBERNETES_SERVICE_HOST or KUBERNETES_API_URL)')
end

def store(json)
  name = ENV['CHATWOOT_BOOTSTRAP_RESULT_SECRET'].to_s
  fail!('CHATWOOT_BOOTSTRAP_RESULT_SECRET is not set') if name.empty?
  token = File.read(ENV.fetch('KUBERNETES_TOKEN_FILE', "#{SA_DIR}/token")).strip
  namespace = File.read(ENV.fetch('KUBERNETES_NAMESPACE_FILE', "#{SA_DIR}/namespace")).strip
  uri = api_uri
  http = Net::HTTP.new(uri.host, uri.port)
  http.use_ssl = true
  http.verify_mode = OpenSSL::SSL::VERIFY_PEER
  http.ca_file = ENV.fetch('KUBERNETES_CA_FILE', "#{SA_DIR}/ca.crt")
  http.open_timeout = 10
  http.read_timeout = 30
  request = Net::HTTP::Patch.new("/api/v1/namespaces/#{namespace}/secrets/#{name}")
  request['Authorization'] = "Bearer #{token}"
  request['Content-Type'] = 'application/merge-patch+json'
  request.body = JSON.generate({ data: { result: Base64.strict_encode64(json) } })
  response = http.request(request)
  fail!("storing the result in Secret #{name} failed: HTTP #{response.code}") unless response.code == '200'
  puts "bootstrap result stored in Secret #{name}"
rescue Errno::ENOENT => e
  fail!("cannot read the ServiceAccount's files (#{e.class})")
rescue SystemCallError, OpenSSL::SSL::SSLError, Net::OpenTimeout, Net::ReadTimeout, SocketError => e
  fail!("cannot reach the Kubernetes API (#{e.class})")
end

store(result_line(ARGV.fetch(0) { fail!('usage: bootstrap_result.rb OUTPUT_FILE') }))
