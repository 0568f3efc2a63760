<?php
/**
 * The routes MemberSync calls (namespace membersync/v1), for a LearnDash administrator signed in the way
 * WordPress's REST API allows (application passwords over HTTP Basic). The contract is in readme.txt and in
 * MemberSync's docs/decisions ("companion REST contract").
 *
 *   GET  status                      {version, queue_length, last_delivery_at, last_error}
 *   POST users/<id>/access           {items: [{kind, id, status, access_from}]} -> {items: [per-item result]}
 *   POST users/<id>/steps            {course, steps: {<step id>: {state, text}}} -> {course, stored}
 *
 * A malformed body is a 400 whose message names the field; nothing is changed by it.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

class MemberSync_Companion_Rest {

	const NS        = 'membersync/v1';
	const MAX_ITEMS = 500;
	const MAX_TEXT  = 2000;

	public static function register(): void {
		add_action( 'rest_api_init', array( __CLASS__, 'routes' ) );
	}

	public static function routes(): void {
		register_rest_route(
			self::NS,
			'/status',
			array(
				'methods'             => 'GET',
				'callback'            => array( __CLASS__, 'status' ),
				'permission_callback' => array( __CLASS__, 'permission' ),
			)
		);
		register_rest_route(
			self::NS,
			'/users/(?P<user_id>\d+)/access',
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'access' ),
				'permission_callback' => array( __CLASS__, 'permission' ),
			)
		);
		register_rest_route(
			self::NS,
			'/users/(?P<user_id>\d+)/steps',
			array(
				'methods'             => 'POST',
				'callback'            => array( __CLASS__, 'steps' ),
				'permission_callback' => array( __CLASS__, 'permission' ),
			)
		);
	}

	/** A LearnDash administrator, as LearnDash's own REST API asks: 401 signed out, 403 anyone else. */
	public static function permission() {
		$admin = function_exists( 'learndash_is_admin_user' ) ? learndash_is_admin_user() : current_user_can( 'manage_options' );
		if ( $admin ) {
			return true;
		}
		return new WP_Error(
			'rest_forbidden',
			is_user_logged_in() ? 'Only a LearnDash administrator may call MemberSync\'s routes.' : 'Sign in with the application password of a LearnDash administrator.',
			array( 'status' => rest_authorization_required_code() )
		);
	}

	public static function status(): WP_REST_Response {
		$state = MemberSync_Companion_Settings::state();
		return new WP_REST_Response(
			array(
				'version'          => MEMBERSYNC_COMPANION_VERSION,
				'queue_length'     => MemberSync_Companion_Queue::length(),
				'last_delivery_at' => $state['last_delivery_at'] ? gmdate( 'Y-m-d\TH:i:s\Z', (int) $state['last_delivery_at'] ) : null,
				'last_error'       => '' === $state['last_error'] ? null : $state['last_error'],
			),
			200
		);
	}

	public static function access( WP_REST_Request $request ) {
		$user_id = self::user( $request );
		if ( is_wp_error( $user_id ) ) {
			return $user_id;
		}
		$body  = $request->get_json_params();
		$items = is_array( $body ) ? ( $body['items'] ?? null ) : null;
		if ( ! is_array( $items ) || ! array_is_list( $items ) || ! $items ) {
			return self::invalid( 'items', 'items must be a non-empty list of {kind, id, status, access_from}' );
		}
		if ( count( $items ) > self::MAX_ITEMS ) {
			return self::invalid( 'items', sprintf( 'items may hold at most %d entries (got %d)', self::MAX_ITEMS, count( $items ) ) );
		}
		$checked = array();
		foreach ( $items as $index => $item ) {
			$item = self::access_item( $item, "items[$index]" );
			if ( is_wp_error( $item ) ) {
				return $item;
			}
			$checked[] = $item;
		}
		$results = array();
		foreach ( $checked as $item ) {
			$results[] = MemberSync_Companion_Access::apply( $user_id, $item );
		}
		return new WP_REST_Response( array( 'items' => $results ), 200 );
	}

	/** One item checked, or a 400 naming the field. */
	private static function access_item( $item, string $where ) {
		if ( ! is_array( $item ) ) {
			return self::invalid( $where, "$where must be an object {kind, id, status, access_from}" );
		}
		$kind = $item['kind'] ?? null;
		if ( ! is_string( $kind ) || ! isset( MemberSync_Companion_Access::KINDS[ $kind ] ) ) {
			return self::invalid( "$where.kind", "$where.kind must be \"course\" or \"group\"" );
		}
		$id = $item['id'] ?? null;
		if ( ! is_int( $id ) || $id < 1 ) {
			return self::invalid( "$where.id", "$where.id must be a positive integer" );
		}
		$status = $item['status'] ?? null;
		if ( 'active' !== $status && 'suspended' !== $status ) {
			return self::invalid( "$where.status", "$where.status must be \"active\" or \"suspended\"" );
		}
		if ( ! array_key_exists( 'access_from', $item ) ) {
			return self::invalid( "$where.access_from", "$where.access_from is required: a Unix time (UTC seconds) or null" );
		}
		$from = $item['access_from'];
		if ( null !== $from && ( ! is_int( $from ) || $from < 0 ) ) {
			return self::invalid( "$where.access_from", "$where.access_from must be a Unix time in seconds (an integer) or null" );
		}
		if ( null !== $from && 'group' === $kind ) {
			return self::invalid( "$where.access_from", "$where.access_from must be null for a group: LearnDash keeps no drip clock per group member" );
		}
		if ( null !== $from && 'suspended' === $status ) {
			return self::invalid( "$where.access_from", "$where.access_from must be null with status \"suspended\": the drip clock is set when access resumes" );
		}
		return array(
			'kind'        => $kind,
			'id'          => $id,
			'status'      => $status,
			'access_from' => $from,
		);
	}

	public static function steps( WP_REST_Request $request ) {
		$user_id = self::user( $request );
		if ( is_wp_error( $user_id ) ) {
			return $user_id;
		}
		$body = $request->get_json_params();
		if ( ! is_array( $body ) ) {
			return self::invalid( 'body', 'the body must be a JSON object {course, steps}' );
		}
		$course = $body['course'] ?? null;
		if ( ! is_int( $course ) || $course < 1 ) {
			return self::invalid( 'course', 'course must be a positive integer' );
		}
		if ( 'sfwd-courses' !== get_post_type( $course ) ) {
			return self::invalid( 'course', sprintf( 'course %d is not a LearnDash course', $course ), 'membersync_invalid_id' );
		}
		$steps = $body['steps'] ?? null;
		if ( ! is_array( $steps ) || ( $steps && array_is_list( $steps ) && ! isset( $steps[0] ) ) ) {
			return self::invalid( 'steps', 'steps must be an object {"<step id>": {"state", "text"}}' );
		}
		$stored = array();
		foreach ( $steps as $step_id => $decision ) {
			$where = "steps.$step_id";
			if ( ! ctype_digit( (string) $step_id ) || (int) $step_id < 1 ) {
				return self::invalid( $where, "$where: a step id must be a positive integer" );
			}
			if ( ! is_array( $decision ) || ! in_array( $decision['state'] ?? null, MemberSync_Companion_Steps::STATES, true ) ) {
				return self::invalid( "$where.state", "$where.state must be \"open\", \"locked\" or \"hidden\"" );
			}
			$text = $decision['text'] ?? '';
			if ( ! is_string( $text ) || strlen( $text ) > self::MAX_TEXT ) {
				return self::invalid( "$where.text", sprintf( '%s.text must be a string of at most %d bytes', $where, self::MAX_TEXT ) );
			}
			$stored[ (int) $step_id ] = array(
				'state' => $decision['state'],
				'text'  => sanitize_textarea_field( $text ),
			);
		}
		MemberSync_Companion_Steps::store( $user_id, $course, $stored );
		return new WP_REST_Response(
			array(
				'course' => $course,
				'stored' => count( $stored ),
			),
			200
		);
	}

	/** The route's user, or a 400 when there is no such user. */
	private static function user( WP_REST_Request $request ) {
		$user_id = (int) $request['user_id'];
		if ( $user_id < 1 || ! get_userdata( $user_id ) ) {
			return self::invalid( 'user_id', sprintf( 'there is no WordPress user with id %d', $user_id ), 'membersync_invalid_user_id' );
		}
		return $user_id;
	}

	private static function invalid( string $field, string $message, string $code = 'membersync_invalid_body' ): WP_Error {
		return new WP_Error(
			$code,
			$message,
			array(
				'status' => 400,
				'field'  => $field,
			)
		);
	}
}
