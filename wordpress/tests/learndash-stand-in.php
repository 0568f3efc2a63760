<?php
/**
 * Plugin Name: LearnDash stand-in (MemberSync's tests only)
 * Description: The few LearnDash functions, post types, hooks and REST routes the MemberSync companion calls or
 *              listens to, behaving as LearnDash 5.0.5's do for what the companion relies on. LearnDash itself is
 *              not free to install, so the tests run the companion against this. Never install it on a real site.
 * License:     GPL-2.0-or-later
 *
 * @package MemberSync_Companion_Tests
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

define( 'LEARNDASH_VERSION', '5.0.5-stand-in' );

add_action(
	'init',
	function () {
		foreach ( array( 'sfwd-courses', 'sfwd-lessons', 'sfwd-topic', 'sfwd-quiz', 'groups', 'sfwd-essays', 'sfwd-assignment' ) as $type ) {
			register_post_type(
				$type,
				array(
					'public'       => true,
					'label'        => $type,
					'show_in_rest' => false,
					'rewrite'      => array( 'slug' => $type ),
				)
			);
		}
	}
);

function learndash_is_admin_user( $user = null ) {
	$user = $user ? $user : get_current_user_id();
	return $user && user_can( $user, 'manage_options' );
}

/** The course a step belongs to (LearnDash keeps it as the step's course_id meta). */
function learndash_get_course_id( $post = null ) {
	$post = get_post( $post );
	if ( ! $post ) {
		return 0;
	}
	return 'sfwd-courses' === $post->post_type ? (int) $post->ID : (int) get_post_meta( $post->ID, 'course_id', true );
}

function learndash_get_users_group_ids( $user_id = 0 ) {
	$ids = array();
	foreach ( array_keys( (array) get_user_meta( (int) $user_id ) ) as $key ) {
		if ( preg_match( '/^learndash_group_users_(\d+)$/', $key, $m ) ) {
			$ids[] = (int) $m[1];
		}
	}
	return $ids;
}

function learndash_group_enrolled_courses( $group_id = 0 ) {
	return array_map(
		'intval',
		get_posts(
			array(
				'post_type'   => 'sfwd-courses',
				'fields'      => 'ids',
				'numberposts' => -1,
				'meta_key'    => 'learndash_group_enrolled_' . (int) $group_id, // phpcs:ignore WordPress.DB.SlowDBQuery
			)
		)
	);
}

/** LearnDash's access check: open courses, direct enrollment, or a group; then its filter. */
function sfwd_lms_has_access( $post_id, $user_id = null ) {
	$user_id   = $user_id ? (int) $user_id : get_current_user_id();
	$course_id = learndash_get_course_id( $post_id );
	$access    = false;
	if ( $course_id ) {
		if ( 'open' === get_post_meta( $course_id, 'price_type', true ) ) {
			$access = true;
		} elseif ( $user_id && '' !== (string) get_user_meta( $user_id, 'course_' . $course_id . '_access_from', true ) ) {
			$access = true;
		} elseif ( $user_id ) {
			foreach ( learndash_get_users_group_ids( $user_id ) as $group_id ) {
				if ( in_array( $course_id, learndash_group_enrolled_courses( $group_id ), true ) ) {
					$access = true;
				}
			}
		}
	}
	return apply_filters( 'sfwd_lms_has_access', $access, $post_id, $user_id );
}

/** Enrolling writes access_from = now only when it is empty; unenrolling deletes it (progress stays). */
function ld_update_course_access( $user_id, $course_id, $remove = false ) {
	$key = 'course_' . (int) $course_id . '_access_from';
	if ( $remove ) {
		delete_user_meta( $user_id, $key );
	} elseif ( '' === (string) get_user_meta( $user_id, $key, true ) ) {
		update_user_meta( $user_id, $key, time() );
	} else {
		return false;
	}
	do_action( 'learndash_update_course_access', (int) $user_id, (int) $course_id, array(), $remove );
	return true;
}

function ld_update_group_access( $user_id, $group_id, $remove = false ) {
	$key = 'learndash_group_users_' . (int) $group_id;
	if ( $remove ) {
		delete_user_meta( $user_id, $key );
		do_action( 'ld_removed_group_access', (int) $user_id, (int) $group_id );
	} else {
		update_user_meta( $user_id, $key, (int) $group_id );
		do_action( 'ld_added_group_access', (int) $user_id, (int) $group_id );
	}
	return true;
}

function ld_update_leader_group_access( $user_id, $group_id, $remove = false ) {
	$key = 'learndash_group_leaders_' . (int) $group_id;
	if ( $remove ) {
		delete_user_meta( $user_id, $key );
		do_action( 'ld_removed_leader_group_access', (int) $user_id, (int) $group_id );
	} else {
		update_user_meta( $user_id, $key, (int) $group_id );
		do_action( 'ld_added_leader_group_access', (int) $user_id, (int) $group_id );
	}
	return true;
}

/** The course's steps as LearnDash builds its navigation: from the course's ld_course_steps meta. */
function learndash_get_course_steps( $course_id ) {
	$steps = get_post_meta( (int) $course_id, 'ld_course_steps', true );
	$ids   = array();
	$walk  = function ( $tree ) use ( &$walk, &$ids ) {
		foreach ( (array) $tree as $type => $steps ) {
			foreach ( (array) $steps as $id => $children ) {
				$ids[] = (int) $id;
				$walk( $children );
			}
		}
	};
	$walk( $steps['steps']['h'] ?? array() );
	return $ids;
}

function learndash_can_user_read_step( $step_id, $course_id = 0 ) {
	return apply_filters( 'learndash_can_user_read_step', true, (int) $step_id, (int) $course_id );
}

function learndash_course_step_attributes( $step_id, $course_id, $user_id ) {
	return apply_filters( 'learndash_course_step_attributes', array(), (int) $step_id, (int) $course_id, (int) $user_id );
}

/** The courses a user is enrolled in, as learndash_user_get_enrolled_courses() finds them: direct (access_from
 * set), through her groups, and open ones. */
function learndash_user_get_enrolled_courses( $user_id ) {
	$ids = array();
	foreach ( get_posts( array( 'post_type' => 'sfwd-courses', 'fields' => 'ids', 'numberposts' => -1, 'post_status' => 'publish' ) ) as $course_id ) {
		if ( sfwd_lms_has_access_unfiltered( (int) $course_id, (int) $user_id ) ) {
			$ids[] = (int) $course_id;
		}
	}
	return $ids;
}

/** sfwd_lms_has_access() before its filter: LearnDash's enrolled-courses list is not filtered either. */
function sfwd_lms_has_access_unfiltered( $course_id, $user_id ) {
	if ( 'open' === get_post_meta( $course_id, 'price_type', true ) ) {
		return true;
	}
	if ( '' !== (string) get_user_meta( $user_id, 'course_' . $course_id . '_access_from', true ) ) {
		return true;
	}
	foreach ( learndash_get_users_group_ids( $user_id ) as $group_id ) {
		if ( in_array( $course_id, learndash_group_enrolled_courses( $group_id ), true ) ) {
			return true;
		}
	}
	return false;
}

/** One per-item result of LearnDash's batch enrollment routes. */
function learndash_stand_in_item( $key, $id, $ok, $code, $message ) {
	return array(
		$key      => (int) $id,
		'status'  => $ok ? 'success' : 'failed',
		'code'    => $code,
		'message' => $message,
	);
}

/**
 * LearnDash REST v2's user enrollment routes, as 5.0.5 answers them (DOMAIN.md, "LearnDash REST v2"):
 * GET users/<id>/courses lists her courses with enrolled_at; POST answers 200 with one result per id
 * (learndash_rest_enroll_success, learndash_rest_enroll_failed when already enrolled, an invalid or open course
 * refused per item); DELETE answers 200 (all done), 207 (some) or 422 (none); an unknown user is a whole-request
 * learndash_rest_invalid_user_id.
 */
add_action(
	'rest_api_init',
	function () {
		$permission = function () {
			return learndash_is_admin_user() ? true : new WP_Error( 'ld_rest_cannot_view', 'Sorry, you are not allowed to view this item.', array( 'status' => rest_authorization_required_code() ) );
		};
		register_rest_route(
			'ldlms/v2',
			'/users/(?P<id>\d+)/courses',
			array(
				array(
					'methods'             => 'GET',
					'permission_callback' => $permission,
					'callback'            => function ( WP_REST_Request $request ) {
						$user = get_userdata( (int) $request['id'] );
						if ( ! $user ) {
							return new WP_Error( 'learndash_rest_invalid_user_id', 'Invalid User ID.', array( 'status' => 404 ) );
						}
						$per_page = max( 1, min( 100, (int) ( $request->get_param( 'per_page' ) ?: 10 ) ) );
						$page     = max( 1, (int) ( $request->get_param( 'page' ) ?: 1 ) );
						$ids      = learndash_user_get_enrolled_courses( $user->ID );
						$rows     = array();
						foreach ( array_slice( $ids, ( $page - 1 ) * $per_page, $per_page ) as $course_id ) {
							$since  = (int) get_user_meta( $user->ID, 'course_' . $course_id . '_access_from', true );
							$since  = $since ? $since : strtotime( $user->user_registered . ' UTC' );
							$rows[] = array(
								'id'              => $course_id,
								'type'            => 'sfwd-courses',
								'status'          => get_post_status( $course_id ),
								'title'           => array( 'rendered' => get_the_title( $course_id ) ),
								'enrolled_at'     => get_date_from_gmt( gmdate( 'Y-m-d H:i:s', $since ), 'Y-m-d\TH:i:s' ),
								'enrolled_at_gmt' => gmdate( 'Y-m-d\TH:i:s', $since ),
							);
						}
						$response = new WP_REST_Response( $rows, 200 );
						$response->header( 'X-WP-Total', (string) count( $ids ) );
						$response->header( 'X-WP-TotalPages', (string) max( 1, (int) ceil( count( $ids ) / $per_page ) ) );
						return $response;
					},
				),
				array(
					'methods'             => array( 'POST', 'DELETE' ),
					'permission_callback' => $permission,
					'callback'            => function ( WP_REST_Request $request ) {
						$user_id = (int) $request['id'];
						$remove  = 'DELETE' === $request->get_method();
						if ( ! get_userdata( $user_id ) ) {
							return new WP_Error( 'learndash_rest_invalid_user_id', 'Invalid User ID.', array( 'status' => $remove ? 404 : 400 ) );
						}
						$ids = $request->get_param( 'course_ids' );
						if ( empty( $ids ) ) {
							return new WP_Error( 'learndash_rest_invalid_course_id', 'Missing Course ID', array( 'status' => $remove ? 404 : 400 ) );
						}
						$out  = array();
						$done = false;
						$miss = false;
						foreach ( (array) $ids as $id ) {
							$id       = absint( $id );
							$enrolled = '' !== (string) get_user_meta( $user_id, 'course_' . $id . '_access_from', true );
							if ( ! $id || 'sfwd-courses' !== get_post_type( $id ) ) {
								$row = learndash_stand_in_item( 'course_id', $id, false, 'learndash_rest_invalid_course_id', 'Invalid Course ID.' );
							} elseif ( 'open' === get_post_meta( $id, 'price_type', true ) ) {
								$row = learndash_stand_in_item( 'course_id', $id, false, 'learndash_rest_rejected_course_open', sprintf( 'Cannot %s users when Course price type is open.', $remove ? 'unenroll' : 'enroll' ) );
							} elseif ( $remove ) {
								$row = $enrolled && ld_update_course_access( $user_id, $id, true )
									? learndash_stand_in_item( 'course_id', $id, true, 'learndash_rest_unenroll_success', 'User unenrolled from Course success.' )
									: learndash_stand_in_item( 'course_id', $id, false, 'learndash_rest_unenroll_failed', 'User not enrolled from Course.' );
							} else {
								$row = ! $enrolled && ld_update_course_access( $user_id, $id )
									? learndash_stand_in_item( 'course_id', $id, true, 'learndash_rest_enroll_success', 'User enrolled in Course success.' )
									: learndash_stand_in_item( 'course_id', $id, false, 'learndash_rest_enroll_failed', 'User already enrolled in Course.' );
							}
							$done  = $done || 'success' === $row['status'];
							$miss  = $miss || 'failed' === $row['status'];
							$out[] = $row;
						}
						$status = $remove ? ( $done && ! $miss ? 200 : ( $done ? 207 : 422 ) ) : 200;
						return new WP_REST_Response( $out, $status );
					},
				),
			)
		);
		register_rest_route(
			'ldlms/v2',
			'/users/(?P<id>\d+)/groups',
			array(
				'methods'             => array( 'POST', 'DELETE' ),
				'permission_callback' => $permission,
				'callback'            => function ( WP_REST_Request $request ) {
					$user_id = (int) $request['id'];
					$remove  = 'DELETE' === $request->get_method();
					if ( ! get_userdata( $user_id ) ) {
						return new WP_Error( 'learndash_rest_invalid_user_id', 'Invalid User ID.', array( 'status' => 404 ) );
					}
					$out = array();
					foreach ( (array) $request->get_param( 'group_ids' ) as $id ) {
						$id     = absint( $id );
						$member = '' !== (string) get_user_meta( $user_id, 'learndash_group_users_' . $id, true );
						if ( ! $id || 'groups' !== get_post_type( $id ) ) {
							$out[] = learndash_stand_in_item( 'group_id', $id, false, 'learndash_rest_invalid_group_id', 'Invalid Group ID.' );
						} elseif ( $remove ) {
							$out[] = $member && ld_update_group_access( $user_id, $id, true )
								? learndash_stand_in_item( 'group_id', $id, true, 'learndash_rest_unenroll_success', 'User unenrolled from Group success.' )
								: learndash_stand_in_item( 'group_id', $id, false, 'learndash_rest_unenroll_failed', 'User not enrolled from Group.' );
						} else {
							$out[] = ! $member && ld_update_group_access( $user_id, $id )
								? learndash_stand_in_item( 'group_id', $id, true, 'learndash_rest_enroll_success', 'User enrolled in Group success.' )
								: learndash_stand_in_item( 'group_id', $id, false, 'learndash_rest_enroll_failed', 'User already enrolled in Group.' );
						}
					}
					return new WP_REST_Response( $out, 200 );
				},
			)
		);
	}
);

/**
 * The tests' record of every enrollment change that reached LearnDash (not LearnDash's: its own hooks only), so a
 * test can prove what was never done: option learndash_stand_in_changes, a list of [what, user, id, removed].
 */
function learndash_stand_in_record( $what, $user_id, $id, $removed ) {
	$changes   = (array) get_option( 'learndash_stand_in_changes', array() );
	$changes[] = array( $what, (int) $user_id, (int) $id, (bool) $removed );
	update_option( 'learndash_stand_in_changes', $changes, false );
}
add_action(
	'learndash_update_course_access',
	function ( $user_id, $course_id, $list, $remove ) {
		learndash_stand_in_record( 'course', $user_id, $course_id, $remove );
	},
	10,
	4
);
add_action( 'ld_added_group_access', fn( $user_id, $group_id ) => learndash_stand_in_record( 'group', $user_id, $group_id, false ), 10, 2 );
add_action( 'ld_removed_group_access', fn( $user_id, $group_id ) => learndash_stand_in_record( 'group', $user_id, $group_id, true ), 10, 2 );
